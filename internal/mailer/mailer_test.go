package mailer

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOutboxWritesAReadableMessage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	m, err := New("", dir, "hr@example.com", func() time.Time { return time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	if m.Via() != "outbox" {
		t.Fatalf("via %q", m.Via())
	}
	path, err := m.Send(context.Background(), Message{To: "taro@example.com", ToName: "山田 太郎", Subject: "会員証のご案内", Body: "山田 太郎 様\nこちらのリンクを開いてください。\nhttps://example.com/w/enroll/x"})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(path) != dir || !strings.HasSuffix(path, ".eml") {
		t.Fatalf("written to %s", path)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("outbox file: %v %v", err, st.Mode())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != "会員証のご案内" {
		t.Fatalf("subject %q %v", subject, err)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || to[0].Name != "山田 太郎" || to[0].Address != "taro@example.com" {
		t.Fatalf("to %v %v", to, err)
	}
	if msg.Header.Get("Message-Id") == "" || msg.Header.Get("Date") == "" {
		t.Fatal("missing Message-ID or Date")
	}
	body := decodeBody(t, msg)
	if !strings.Contains(body, "山田 太郎 様\r\n") || !strings.Contains(body, "https://example.com/w/enroll/x") {
		t.Fatalf("body %q", body)
	}
}

func TestRefusesHeaderInjection(t *testing.T) {
	m, _ := New("", t.TempDir(), "hr@example.com", nil)
	if _, err := m.Send(context.Background(), Message{To: "a@example.com\r\nBcc: x@example.com", Subject: "x", Body: "x"}); err == nil {
		t.Fatal("a recipient with a line break was accepted")
	}
}

func TestBadSMTPURL(t *testing.T) {
	for _, u := range []string{"http://mail.example.com", "smtp://", "smtp://mail.example.com?from=not-an-address"} {
		if _, err := New(u, t.TempDir(), "", nil); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}

// TestSMTPDelivers talks to a minimal SMTP server on loopback.
func TestSMTPDelivers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go fakeSMTP(ln, got)
	m, err := New("smtp://"+ln.Addr().String()+"?from=hr@example.com", t.TempDir(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := m.Send(ctx, Message{To: "alex@example.com", Subject: "Your alumni card", Body: "Dear Alex Smith,\nopen this link."}); err != nil {
		t.Fatal(err)
	}
	select {
	case data := <-got:
		msg, err := mail.ReadMessage(strings.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); subject != "Your alumni card" {
			t.Fatalf("subject %q", subject)
		}
		if body := decodeBody(t, msg); !strings.Contains(body, "Dear Alex Smith,") {
			t.Fatalf("body %q", body)
		}
	case <-ctx.Done():
		t.Fatal("no message reached the server")
	}
}

func decodeBody(t *testing.T, msg *mail.Message) string {
	t.Helper()
	b, err := io.ReadAll(msg.Body)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return string(dec)
}

func fakeSMTP(ln net.Listener, got chan<- string) {
	conn, err := ln.Accept()
	if err != nil {
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	say := func(s string) { _, _ = conn.Write([]byte(s + "\r\n")) }
	say("220 fake ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250 fake")
		case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"):
			say("250 ok")
		case cmd == "DATA":
			say("354 go ahead")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(l)
			}
			got <- data.String()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}
