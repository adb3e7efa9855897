// Package multicall runs one of several commands linked into one binary, chosen by the name the
// binary is called by (a symlink) or by its first argument, so that each command sees exactly the
// arguments it would see as a binary of its own.
package multicall

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Main runs the command of os.Args among commands (each exits the process itself), or prints the
// usage of binary and exits with 2.
func Main(binary string, commands map[string]func()) {
	name := filepath.Base(os.Args[0])
	if _, ok := commands[name]; !ok {
		if len(os.Args) < 2 {
			usage(binary, commands)
		}
		// Drop our own name so that the command parses os.Args as its own binary would.
		os.Args = os.Args[1:]
		name = os.Args[0]
	}
	run, ok := commands[name]
	if !ok {
		usage(binary, commands)
	}
	run()
}

func usage(binary string, commands map[string]func()) {
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: %s {%s} [flags]\n", binary, strings.Join(names, "|"))
	os.Exit(2)
}
