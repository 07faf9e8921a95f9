// Package faithful holds a test that runs the test kit (orymfatest) and a real Ory Kratos
// v1.3.1 side by side and compares what whoami answers in each situation: status, error ids
// and bodies, headers, the session's and identity's fields. The kit's users rely on it
// answering as Kratos does; this test is what keeps it so.
package faithful
