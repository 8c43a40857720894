package pgserver

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

// serverCredential returns whom initdb and postgres run as: nil (ourselves)
// normally, the postgres system user when we are root, since PostgreSQL
// refuses to run as root.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgserver: running as root needs the postgres system user "+
			"(apt-get install postgresql creates it): %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pgserver: postgres user: %w", err)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	ids, _ := u.GroupIds()
	for _, id := range ids {
		if g, err := strconv.ParseUint(id, 10, 32); err == nil {
			cred.Groups = append(cred.Groups, uint32(g))
		}
	}
	return cred, nil
}

// prepareDir creates dir (mode 0700) and, when the server runs as another
// user, hands it to that user after checking the user can reach it. We never
// loosen permissions on directories we did not create.
func prepareDir(dir string, cred *syscall.Credential) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	if cred == nil {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("pgserver: %w", err)
		}
		return nil
	}
	if err := checkTraversable(parent, cred); err != nil {
		return err
	}
	err := os.Mkdir(dir, 0o700)
	if err == nil {
		return chown(dir, cred)
	}
	if !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("pgserver: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid == cred.Uid {
		return nil
	}
	if !isEmptyDir(dir) {
		return fmt.Errorf("pgserver: data directory %s is not empty and not owned by the postgres user (uid %d)", dir, cred.Uid)
	}
	return chown(dir, cred) // an empty directory made for us, e.g. by os.MkdirTemp
}

func chown(dir string, cred *syscall.Credential) error {
	if err := errors.Join(os.Chown(dir, int(cred.Uid), int(cred.Gid)), os.Chmod(dir, 0o700)); err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	return nil
}

func isEmptyDir(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	return errors.Is(err, io.EOF)
}

// checkTraversable reports the first directory on the way to dir (as
// written and with symlinks resolved) that cred may not search.
func checkTraversable(dir string, cred *syscall.Credential) error {
	paths := []string{dir}
	if real, err := filepath.EvalSymlinks(dir); err == nil && real != dir {
		paths = append(paths, real)
	}
	for _, p := range paths {
		for ; ; p = filepath.Dir(p) {
			fi, err := os.Stat(p)
			if err != nil {
				return fmt.Errorf("pgserver: %w", err)
			}
			if st := fi.Sys().(*syscall.Stat_t); !searchable(st, cred) {
				return fmt.Errorf("pgserver: directory %s (mode %v, uid %d) is not searchable by the postgres user (uid %d), "+
					"which must reach the data directory: use another location or allow it (chmod o+x %s)",
					p, fi.Mode().Perm(), st.Uid, cred.Uid, p)
			}
			if p == filepath.Dir(p) {
				break
			}
		}
	}
	return nil
}

// searchable applies the owner/group/other execute bits as the kernel does (ignoring ACLs).
func searchable(st *syscall.Stat_t, cred *syscall.Credential) bool {
	switch {
	case st.Uid == cred.Uid:
		return st.Mode&0o100 != 0
	case st.Gid == cred.Gid || slices.Contains(cred.Groups, st.Gid):
		return st.Mode&0o010 != 0
	}
	return st.Mode&0o001 != 0
}
