// Package install proves that orymfa's modules install with go get, as a user gets them.
//
// It has only tests. TestModuleGraph reads the go.mod of every publishable module (the root
// and each adapter: every module of the repository except internal/, examples/ and
// benchmarks/, which are never tagged) and checks the graph a user inherits: each one requires
// the other orymfa modules at the release version, replaces them only for development, and
// requires nothing that only its tests need.
//
// TestModulesInstall publishes the working tree at the release version into a file-based
// module proxy (GOPROXY=file://…, zips made with golang.org/x/mod/zip from a git snapshot of
// the tree, as the tags would carry them), builds every module as published (replace lines
// dropped) against it, checks that the tags scripts/release.sh prints resolve to the same
// bytes, and then, in an empty module outside the repository for each adapter, runs go get and
// builds the README's quick starts unchanged.
//
// The release version is ORYMFA_RELEASE_VERSION when set (scripts/release.sh sets it), else
// the version of github.com/orymfa/orymfa that the adapters require. docs/RELEASING.md has
// the procedure.
package install
