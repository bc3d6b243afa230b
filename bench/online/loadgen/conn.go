package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// conn is one keep-alive HTTP/1.1 connection spoken by hand, like wrk: a request is one prepared byte slice
// written in one call, and the response is read into a buffer reused from request to request, framed by its
// Content-Length (or chunked encoding, or the connection's end). Nothing is allocated per request once the
// buffers have grown to the largest response. A conn is used by one goroutine.
type conn struct {
	c      net.Conn
	buf    []byte // read buffer: buf[r:w] is read but not yet consumed
	r, w   int
	body   []byte // a chunked body, reassembled
	closed bool   // the server said Connection: close, or ended the stream
}

// maxResponse bounds one response: a server sending more is an error, not a reason to grow without end.
const maxResponse = 256 << 20

func dial(addr string, deadline time.Time) (*conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	// One deadline for the whole run (set once: per-request deadlines cost timer updates), so a stuck server
	// ends the run instead of hanging it.
	if err := c.SetDeadline(deadline); err != nil {
		_ = c.Close()
		return nil, err
	}
	return &conn{c: c, buf: make([]byte, 64<<10)}, nil
}

func (c *conn) Close() error { return c.c.Close() }

// response is what do read. body points into the conn's buffers and is valid until its next call.
type response struct {
	status int
	body   []byte
}

// do writes one prepared request and reads its response.
func (c *conn) do(req []byte) (response, error) {
	if _, err := c.c.Write(req); err != nil {
		return response{}, err
	}
	return c.read()
}

// read reads one response: status line, headers, body.
func (c *conn) read() (response, error) {
	// Anything left over belongs to no request (we never pipeline): drop it with the previous response.
	c.r, c.w = 0, 0
	end, err := c.fill(func() int { return bytes.Index(c.buf[c.r:c.w], []byte("\r\n\r\n")) })
	if err != nil {
		return response{}, err
	}
	head := c.buf[c.r : c.r+end]
	c.r += end + 4
	var resp response
	length, chunked, err := c.parseHead(head, &resp)
	if err != nil {
		return resp, err
	}
	switch {
	case chunked:
		resp.body, err = c.readChunked()
	case length >= 0:
		resp.body, err = c.readN(length)
	default: // no framing: the body ends with the connection
		resp.body, err = c.readToEOF()
	}
	return resp, err
}

// parseHead reads the status line and the headers that frame the body.
func (c *conn) parseHead(head []byte, resp *response) (length int, chunked bool, err error) {
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	if resp.status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	length = -1
	if line[7] == '0' { // HTTP/1.0: closes unless it says keep-alive
		c.closed = true
	}
	for len(rest) > 0 {
		var h []byte
		h, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, val, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, false, fmt.Errorf("malformed header %q", h)
		}
		val = bytes.TrimSpace(val)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(val)); err != nil || length < 0 || length > maxResponse {
				return 0, false, fmt.Errorf("bad Content-Length %q", val)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(val, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(val, []byte("close")) {
				c.closed = true
			} else if bytes.EqualFold(val, []byte("keep-alive")) {
				c.closed = false
			}
		}
	}
	if resp.status == 204 || resp.status == 304 || resp.status/100 == 1 {
		length = 0
	}
	return length, chunked, nil
}

// fill reads until find returns a position ≥ 0 and returns it.
func (c *conn) fill(find func() int) (int, error) {
	for {
		if i := find(); i >= 0 {
			return i, nil
		}
		if err := c.more(); err != nil {
			return 0, err
		}
	}
}

// more reads at least one byte more into buf[w:], growing buf when it is full.
func (c *conn) more() error {
	if c.w == len(c.buf) {
		if len(c.buf) >= maxResponse {
			return fmt.Errorf("response larger than %d bytes", maxResponse)
		}
		nb := make([]byte, 2*len(c.buf))
		copy(nb, c.buf[:c.w])
		c.buf = nb
	}
	n, err := c.c.Read(c.buf[c.w:])
	c.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	if errors.Is(err, io.EOF) {
		c.closed = true
		err = io.ErrUnexpectedEOF
	}
	return err
}

// readN returns the next n bytes (the buffer grows to hold them, and keeps that size for later responses).
func (c *conn) readN(n int) ([]byte, error) {
	if len(c.buf)-c.r < n {
		if len(c.buf) < n {
			nb := make([]byte, max(2*len(c.buf), n))
			c.w = copy(nb, c.buf[c.r:c.w])
			c.buf = nb
		} else {
			c.w = copy(c.buf, c.buf[c.r:c.w])
		}
		c.r = 0
	}
	for c.w-c.r < n {
		if err := c.more(); err != nil {
			return nil, err
		}
	}
	out := c.buf[c.r : c.r+n]
	c.r += n
	return out, nil
}

// line returns the next CRLF-terminated line without its CRLF.
func (c *conn) line() ([]byte, error) {
	for {
		if i := bytes.Index(c.buf[c.r:c.w], []byte("\r\n")); i >= 0 {
			l := c.buf[c.r : c.r+i]
			c.r += i + 2
			return l, nil
		}
		if c.w == len(c.buf) && c.r > 0 {
			c.w = copy(c.buf, c.buf[c.r:c.w])
			c.r = 0
		}
		if err := c.more(); err != nil {
			return nil, err
		}
	}
}

// readChunked reassembles a chunked body into c.body (trailers are skipped).
func (c *conn) readChunked() ([]byte, error) {
	c.body = c.body[:0]
	for {
		l, err := c.line()
		if err != nil {
			return nil, err
		}
		size, _, _ := bytes.Cut(l, []byte(";"))
		n, err := strconv.ParseUint(string(bytes.TrimSpace(size)), 16, 32)
		if err != nil || len(c.body)+int(n) > maxResponse {
			return nil, fmt.Errorf("bad chunk size %q", l)
		}
		if n == 0 {
			for { // trailers up to the empty line
				t, err := c.line()
				if err != nil || len(t) == 0 {
					return c.body, err
				}
			}
		}
		chunk, err := c.readN(int(n))
		if err != nil {
			return nil, err
		}
		c.body = append(c.body, chunk...)
		if crlf, err := c.readN(2); err != nil || string(crlf) != "\r\n" {
			return nil, fmt.Errorf("chunk of %d bytes not followed by CRLF", n)
		}
	}
}

// readToEOF reads the rest of the connection as the body.
func (c *conn) readToEOF() ([]byte, error) {
	for {
		err := c.more()
		if c.closed {
			c.body = append(c.body[:0], c.buf[c.r:c.w]...)
			c.r = c.w
			return c.body, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
