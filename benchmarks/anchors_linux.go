package main

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// processCPU is the user+system CPU time process pid has used so far, from /proc/pid/stat
// (utime and stime, in clock ticks of 1/100 s: USER_HZ is 100 on Linux), or 0.
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may contain spaces: count the fields
	// after its closing parenthesis, where field 3 (state) comes first.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * (time.Second / 100)
}
