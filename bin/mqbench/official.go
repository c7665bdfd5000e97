package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// The official client runs in its own program, mqbench-official, built from the
// nested module tests/mqbench-official: Apache's Go client may only be a dependency of
// the modules under tests/, never of rocketgo itself (docs/mqbench.md §2).
const (
	officialName = "mqbench-official"
	officialEnv  = "MQBENCH_OFFICIAL"
)

// findOfficial returns the path of mqbench-official: the -official-bin flag, else
// $MQBENCH_OFFICIAL, else the file next to this program, else $PATH.
func findOfficial(flagPath string) (string, error) {
	for _, p := range []string{flagPath, os.Getenv(officialEnv)} {
		if p == "" {
			continue
		}
		if !executable(p) {
			return "", fmt.Errorf("-client official: %s is not an executable file", p)
		}
		return p, nil
	}
	if exe, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), officialName); executable(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath(officialName); err == nil {
		return p, nil
	}
	return "", errors.New("-client official needs the program " + officialName + ", not found next to mqbench nor in $PATH: " +
		"build it with `cd tests/mqbench-official && go build -o DIR/" + officialName + " .` (DIR: where mqbench is), or name it with -official-bin or $" + officialEnv)
}

func executable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// execOfficial replaces this process with mqbench-official running the command cmd
// with the flags set on the command line, less those only mqbench knows. The program
// prints the same lines and exits with the same statuses.
func execOfficial(fs *flag.FlagSet, cmd, flagPath string) error {
	var tlsSet string
	fs.Visit(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "tls") {
			tlsSet = f.Name
		}
	})
	if tlsSet != "" {
		return &usageError{cmd: cmd, msg: fmt.Sprintf("%s: -%s: TLS is not supported with -client official", cmd, tlsSet)}
	}
	bin, err := findOfficial(flagPath)
	if err != nil {
		return err
	}
	args := []string{bin, cmd}
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "client" && f.Name != "official-bin" {
			args = append(args, "-"+f.Name+"="+f.Value.String())
		}
	})
	return fmt.Errorf("run %s: %w", bin, syscall.Exec(bin, args, os.Environ()))
}
