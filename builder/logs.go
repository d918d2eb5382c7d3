package builder

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// lockedWriter serializes writes from the stdout and stderr copiers of a step.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// cappedWriter passes on the first limit bytes, then one marker line, then nothing:
// a step that prints without end fills neither the disk nor the terminal, and the log's
// digest covers what was kept.
type cappedWriter struct {
	w         io.Writer
	limit     int64
	written   int64
	Truncated bool
}

func newCappedWriter(w io.Writer, limit int64) *cappedWriter {
	return &cappedWriter{w: w, limit: limit}
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	n := len(p)
	if c.Truncated {
		return n, nil
	}
	if room := c.limit - c.written; int64(len(p)) > room {
		p = p[:room]
		c.Truncated = true
	}
	if len(p) > 0 {
		w, err := c.w.Write(p)
		c.written += int64(w)
		if err != nil {
			return n, err
		}
	}
	if c.Truncated {
		_, err := fmt.Fprintf(c.w, "\nslsabox: the build log reached limits.log_size (%s); the rest of the steps' output is not kept\n", formatSize(c.limit))
		return n, err
	}
	return n, nil
}

// prefixWriter writes whole lines, each with a prefix. A line longer than maxLine is
// cut, so that a step printing without newlines cannot make the builder buffer forever.
type prefixWriter struct {
	mu     sync.Mutex // Write runs in containerd's copier, Flush in the builder
	w      io.Writer
	prefix []byte
	buf    []byte
}

const maxLine = 64 << 10

func newPrefixWriter(w io.Writer, prefix string) *prefixWriter {
	return &prefixWriter{w: w, prefix: []byte(prefix)}
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.buf = append(p.buf, b...)
			if len(p.buf) >= maxLine {
				p.emit(append(p.buf, '\n'))
				p.buf = p.buf[:0]
			}
			break
		}
		p.emit(append(p.buf, b[:i+1]...))
		p.buf = p.buf[:0]
		b = b[i+1:]
	}
	return n, nil
}

func (p *prefixWriter) emit(line []byte) {
	out := make([]byte, 0, len(p.prefix)+len(line))
	out = append(append(out, p.prefix...), line...)
	_, _ = p.w.Write(out)
}

// Flush writes a final line that has no newline.
func (p *prefixWriter) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		p.emit(append(p.buf, '\n'))
		p.buf = p.buf[:0]
	}
}
