package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// rawConn is one keep-alive HTTP/1.1 connection of a load phase, spoken by
// hand the way wrk does: the load generator shares the two cores with the
// server and PostgreSQL, and net/http's client spent about as much CPU per
// request as the server did answering it, which capped every phase at the
// client. A request is written as one buffer; an answer is read with a
// bufio.Reader: status line, headers (only Content-Length and Connection
// matter) and a body of exactly Content-Length bytes into a reused buffer.
// The server is ours and always sends Content-Length; anything else is an
// error, never a guess.
type rawConn struct {
	addr    string // host:port
	host    string // Host header
	timeout time.Duration
	c       net.Conn
	r       *bufio.Reader
	req     []byte
	body    []byte
}

// errUnsupportedAnswer is an answer the raw client does not read.
var errUnsupportedAnswer = errors.New("answer without Content-Length")

func newRawConn(baseURL string, timeout time.Duration) *rawConn {
	hp := strings.TrimPrefix(baseURL, "http://")
	return &rawConn{addr: hp, host: hp, timeout: timeout}
}

// header is one request header.
type header struct{ name, value string }

// do sends one request and returns the status and the body, which is valid
// until the next call. A broken connection is redialled once for the next
// request, not retried: the caller counts the error.
func (rc *rawConn) do(ctx context.Context, method, path string, headers []header, body string) (int, []byte, error) {
	if rc.c == nil {
		d := net.Dialer{Timeout: rc.timeout}
		c, err := d.DialContext(ctx, "tcp", rc.addr)
		if err != nil {
			return 0, nil, fmt.Errorf("dial %s: %w", rc.addr, err)
		}
		rc.c, rc.r = c, bufio.NewReaderSize(c, 16<<10)
	}
	rc.req = rc.req[:0]
	rc.req = append(rc.req, method...)
	rc.req = append(rc.req, ' ')
	rc.req = append(rc.req, path...)
	rc.req = append(rc.req, " HTTP/1.1\r\nHost: "...)
	rc.req = append(rc.req, rc.host...)
	rc.req = append(rc.req, "\r\n"...)
	for _, h := range headers {
		rc.req = append(rc.req, h.name...)
		rc.req = append(rc.req, ": "...)
		rc.req = append(rc.req, h.value...)
		rc.req = append(rc.req, "\r\n"...)
	}
	if body != "" || method == "POST" {
		rc.req = append(rc.req, "Content-Length: "...)
		rc.req = strconv.AppendInt(rc.req, int64(len(body)), 10)
		rc.req = append(rc.req, "\r\n"...)
	}
	rc.req = append(rc.req, "\r\n"...)
	rc.req = append(rc.req, body...)
	if err := rc.c.SetDeadline(time.Now().Add(rc.timeout)); err != nil {
		return 0, nil, rc.fail(err)
	}
	if _, err := rc.c.Write(rc.req); err != nil {
		return 0, nil, rc.fail(err)
	}
	status, n, closeAfter, err := rc.readHead()
	if err != nil {
		return 0, nil, rc.fail(err)
	}
	if cap(rc.body) < n {
		rc.body = make([]byte, n)
	}
	rc.body = rc.body[:n]
	if _, err := io.ReadFull(rc.r, rc.body); err != nil {
		return 0, nil, rc.fail(err)
	}
	if closeAfter {
		rc.close()
	}
	return status, rc.body, nil
}

// readHead reads the status line and headers of one answer.
func (rc *rawConn) readHead() (status, length int, closeAfter bool, err error) {
	line, err := rc.r.ReadSlice('\n')
	if err != nil {
		return 0, 0, false, fmt.Errorf("read status line: %w", err)
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, 0, false, fmt.Errorf("bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, 0, false, fmt.Errorf("bad status line %q", line)
	}
	length = -1
	for {
		line, err = rc.r.ReadSlice('\n')
		if err != nil {
			return 0, 0, false, fmt.Errorf("read header: %w", err)
		}
		if len(line) <= 2 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, 0, false, fmt.Errorf("bad header line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, 0, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Connection")):
			closeAfter = bytes.EqualFold(value, []byte("close"))
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return 0, 0, false, errUnsupportedAnswer
		}
	}
	if length < 0 {
		return 0, 0, false, errUnsupportedAnswer
	}
	return status, length, closeAfter, nil
}

func (rc *rawConn) fail(err error) error {
	rc.close()
	return err
}

func (rc *rawConn) close() {
	if rc.c != nil {
		rc.c.Close()
		rc.c, rc.r = nil, nil
	}
}
