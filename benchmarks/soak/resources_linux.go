package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// openFiles counts the process's open file descriptors and sockets from /proc/self/fd, the
// established connections to oryPort among them from /proc/net/tcp{,6}, and the TIME_WAIT
// sockets on oryPort.
func openFiles(oryPort int) (fds, sockets, oryConns, timeWait int) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1, -1, -1, -1
	}
	inodes := map[string]bool{}
	for _, e := range entries {
		link, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil {
			continue // closed since ReadDir (the ReadDir's own descriptor, for one)
		}
		fds++
		if ino, ok := strings.CutPrefix(link, "socket:["); ok {
			sockets++
			inodes[strings.TrimSuffix(ino, "]")] = true
		}
	}
	port := strings.ToUpper(strconv.FormatInt(int64(oryPort), 16))
	for len(port) < 4 {
		port = "0" + port
	}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 {
				continue
			}
			local, remote, state, inode := fields[1], fields[2], fields[3], fields[9]
			onPort := strings.HasSuffix(local, ":"+port) || strings.HasSuffix(remote, ":"+port)
			switch {
			case state == "06" && onPort: // TIME_WAIT: no owner any more
				timeWait++
			case state == "01" && strings.HasSuffix(remote, ":"+port) && inodes[inode]:
				oryConns++
			}
		}
		f.Close()
	}
	return fds, sockets, oryConns, timeWait
}
