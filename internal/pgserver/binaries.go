package pgserver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
)

// findBinDir returns the directory holding initdb and postgres: dir if set,
// else the one postgres on PATH resolves to, else the newest
// /usr/lib/postgresql/<version>/bin (Debian keeps them off PATH).
func findBinDir(dir string) (string, error) {
	if dir != "" {
		if abs, err := filepath.Abs(dir); err == nil && hasBinaries(abs) {
			return abs, nil
		}
		return "", fmt.Errorf("pgserver: no initdb and postgres in %s: %w", dir, ErrNoBinaries)
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		// Resolve symlinks such as /usr/local/bin/postgres so initdb and
		// postgres come from the same installation.
		if real, err := filepath.EvalSymlinks(p); err == nil {
			if abs, err := filepath.Abs(filepath.Dir(real)); err == nil && hasBinaries(abs) {
				return abs, nil
			}
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return compareVersion(b, a) })
	for _, d := range dirs {
		if hasBinaries(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("pgserver: no initdb and postgres on PATH or in /usr/lib/postgresql/*/bin: %w", ErrNoBinaries)
}

// compareVersion orders /usr/lib/postgresql/<version>/bin paths numerically, so 15 > 9.6.
func compareVersion(a, b string) int {
	va, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(a)), 64)
	vb, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(b)), 64)
	switch {
	case va < vb:
		return -1
	case va > vb:
		return 1
	}
	return 0
}

func hasBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}
