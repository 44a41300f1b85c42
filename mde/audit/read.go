package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// maxLine is the longest line Parse reads; a longer one is skipped.
const maxLine = 1 << 20

// ReadAll reads the audit file at path, oldest line first. Lines that are
// not whole records — a torn last line after a crash, or a torn line that
// a later Open ended with a newline — are skipped and counted in skipped.
// A missing file is an error wrapping fs.ErrNotExist ("no audit trail yet").
func ReadAll(path string) (records []Record, skipped int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("audit log %s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	records, skipped, err = Parse(f)
	if err != nil {
		return records, skipped, fmt.Errorf("audit log %s: %w", path, unwrapPath(err))
	}
	return records, skipped, nil
}

// Parse reads audit lines from r, as ReadAll does.
func Parse(r io.Reader) (records []Record, skipped int, err error) {
	br := bufio.NewReader(r)
	for {
		line, tooLong, err := readLine(br)
		if len(line) > 0 || tooLong {
			if rec, ok := parseLine(line); ok && !tooLong {
				records = append(records, rec)
			} else {
				skipped++
			}
		}
		if err == io.EOF {
			return records, skipped, nil
		}
		if err != nil {
			return records, skipped, err
		}
	}
}

// readLine reads one line without its newline; a line longer than maxLine
// is read to its end and reported as tooLong.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > maxLine+1 {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), tooLong, err
	}
}

func parseLine(line []byte) (Record, bool) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return Record{}, false
	}
	var r Record
	if json.Unmarshal(line, &r) != nil {
		return Record{}, false
	}
	if (r.Event != EventIntent && r.Event != EventOutcome && r.Event != EventReread) || r.Attempt == "" || r.Time.IsZero() {
		return Record{}, false
	}
	return r, true
}

// unwrapPath keeps the *PathError's cause (the message names the file).
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
