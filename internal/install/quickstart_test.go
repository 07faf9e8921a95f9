package install

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// A block is a fenced code block of a Markdown file.
type block struct {
	Line   int    // the line of its opening fence
	Source string // its text, unchanged
}

// sectionBlocks returns the fenced code blocks whose info string starts with one of langs
// between the level-2 heading "## <heading>" and the next "## " heading, in order; prose,
// sub-headings and other blocks between them are skipped.
func sectionBlocks(name string, md []byte, heading string, langs ...string) ([]block, error) {
	var (
		out     []block
		in      bool   // inside the section
		fence   string // the open fence, or ""
		buf     *bytes.Buffer
		start   int
		sawHead bool
	)
	sc := bufio.NewScanner(bytes.NewReader(md))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" {
				if buf != nil {
					out = append(out, block{Line: start, Source: buf.String()})
				}
				fence, buf = "", nil
				continue
			}
			if buf != nil {
				buf.WriteString(line)
				buf.WriteByte('\n')
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			for len(fence) < len(trimmed) && trimmed[len(fence)] == fence[0] {
				fence += fence[:1]
			}
			info := strings.Fields(trimmed[len(fence):] + " ")
			if in && len(info) > 0 && slices.Contains(langs, info[0]) {
				buf, start = new(bytes.Buffer), n
			}
			continue
		}
		if strings.HasPrefix(line, "## ") {
			in = strings.EqualFold(strings.TrimSpace(line[3:]), heading)
			sawHead = sawHead || in
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if fence != "" {
		return nil, fmt.Errorf("%s: unterminated code fence", name)
	}
	if !sawHead {
		return nil, fmt.Errorf("%s: no %q section", name, "## "+heading)
	}
	return out, nil
}

// A quickStart is one ```go block of the README's "## Quick start" section.
type quickStart struct {
	block
	Program bool // a complete program: package main with func main
	Imports []string
}

// quickStarts returns every ```go block of the "## Quick start" section, in order.
func quickStarts(name string, md []byte) ([]quickStart, error) {
	blocks, err := sectionBlocks(name, md, "Quick start", "go")
	if err != nil {
		return nil, err
	}
	var out []quickStart
	for _, b := range blocks {
		qs := quickStart{block: b}
		f, err := parser.ParseFile(token.NewFileSet(), fmt.Sprintf("%s:%d", name, b.Line), b.Source, parser.SkipObjectResolution)
		if err == nil {
			for _, imp := range f.Imports {
				if p, err := strconv.Unquote(imp.Path.Value); err == nil {
					qs.Imports = append(qs.Imports, p)
				}
			}
			for _, d := range f.Decls {
				if fn, ok := d.(*ast.FuncDecl); ok && f.Name.Name == "main" && fn.Recv == nil && fn.Name.Name == "main" {
					qs.Program = true
				}
			}
		}
		out = append(out, qs)
	}
	return out, nil
}

// installCommands returns the arguments of every `go get` line in the shell blocks of the
// "## Installation" section (none if there is no such section), e.g.
// "github.com/orymfa/orymfa/gin@latest".
func installCommands(name string, md []byte) ([]string, error) {
	blocks, err := sectionBlocks(name, md, "Installation", "sh", "shell", "bash", "console")
	if err != nil {
		return nil, nil
	}
	var out []string
	for _, b := range blocks {
		for _, line := range strings.Split(b.Source, "\n") {
			line, _, _ = strings.Cut(line, "#")
			f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "$ "))
			if len(f) >= 3 && f[0] == "go" && f[1] == "get" {
				for _, arg := range f[2:] {
					if !strings.HasPrefix(arg, "-") {
						out = append(out, arg)
					}
				}
			}
		}
	}
	return out, nil
}

// readme returns the README's quick starts, each of which must be a complete program (a user
// copies it into main.go and builds it), and its `go get` lines.
func readme(t testing.TB, root string) (string, []quickStart, []string) {
	t.Helper()
	name := filepath.Join(root, "README.md")
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	qss, err := quickStarts(name, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(qss) == 0 {
		t.Fatalf("%s: no ```go block under \"## Quick start\"", name)
	}
	for _, qs := range qss {
		if !qs.Program {
			t.Errorf("%s:%d: this quick start is not a complete program (package main, its imports, func main), so a user cannot build it unchanged:\n%s", name, qs.Line, qs.Source)
		}
	}
	gets, err := installCommands(name, data)
	if err != nil {
		t.Fatal(err)
	}
	return name, qss, gets
}

func TestReadmeExtraction(t *testing.T) {
	md := "# x\n\n```go\npackage main\nfunc main() {}\n```\n\n" +
		"## Installation\n\n```sh\ngo get github.com/orymfa/orymfa/gin@latest    # gin\n$ go get -u github.com/orymfa/orymfa/echo/v5@latest\n```\n\n" +
		"## Quick start\n\nText.\n\n" +
		"### gin\n\n````go\npackage main\n\nimport orymfa \"github.com/orymfa/orymfa/gin\"\n\nfunc main() { _ = orymfa.RequireAAL2 }\n````\n\n" +
		"```sh\ngo get github.com/orymfa/orymfa/chi@latest\n```\n\n" +
		"```go\nr.Use(orymfa.RequireAAL2())\n```\n\n" +
		"## Next\n\n```go\npackage main\nfunc main() {}\n```\n"
	qss, err := quickStarts("x.md", []byte(md))
	if err != nil {
		t.Fatal(err)
	}
	if len(qss) != 2 {
		t.Fatalf("got %d blocks, want 2: %+v", len(qss), qss)
	}
	if !qss[0].Program || qss[0].Line != 21 || !slices.Equal(qss[0].Imports, []string{"github.com/orymfa/orymfa/gin"}) {
		t.Errorf("first block: %+v", qss[0])
	}
	if qss[1].Program {
		t.Errorf("a fragment taken for a program: %+v", qss[1])
	}
	gets, err := installCommands("x.md", []byte(md))
	if err != nil || !slices.Equal(gets, []string{"github.com/orymfa/orymfa/gin@latest", "github.com/orymfa/orymfa/echo/v5@latest"}) {
		t.Errorf("installCommands = %q, %v", gets, err)
	}
	if _, err := quickStarts("y.md", []byte("# y\n")); err == nil {
		t.Error("a README without a Quick start section: want an error")
	}
}
