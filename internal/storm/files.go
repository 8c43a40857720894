package storm

import (
	"io"
	"os"
	"path/filepath"
)

// WriteFiles writes storm.html, storm.json and storm.svg into dir, creating it.
func (r *Report) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, write := range map[string]func(io.Writer) error{
		"storm.json": r.WriteJSON, "storm.html": r.WriteHTML, "storm.svg": r.WriteSVG,
	} {
		if err := writeFile(filepath.Join(dir, name), write); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
