// Package exampletest runs the same scenarios against every example app (nethttp, chi, gin,
// echo, fiber) with a real Ory Kratos, so no example can rot. Each example's main_test.go
// calls [Main] from TestMain and [Run] from a test, passing a function that serves its newApp.
package exampletest
