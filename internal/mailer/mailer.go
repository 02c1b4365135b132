// Package mailer sends the few e-mails alumnipass writes (an alumnus's
// enrolment link): through SMTP when ALUMNIPASS_SMTP_URL is set, or else
// into an outbox folder as .eml files that an operator can open, check and
// forward, so that a development machine or a closed network never loses a
// message and never needs a mail server.
package mailer

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Message is one plain-text e-mail.
type Message struct {
	To      string // a bare address
	ToName  string // optional display name
	Subject string
	Body    string // plain text, UTF-8
	// Key optionally names the message for good (letters, digits, '-'):
	// in the outbox its file is <Key>.eml, written whole or not at all, so
	// that Confirm can later say whether it went (a background job asks
	// after a crash between sending and recording).
	Key string
}

// ErrRejected is a message the mail server refused for good at submission
// (a 5xx answer, or an address that is not one): sending it again will not
// help. Other errors are transient.
var ErrRejected = errors.New("rejected by the mail server")

// Mailer delivers messages by SMTP or into the outbox.
type Mailer struct {
	smtp   *url.URL // nil: write to the outbox
	from   string
	outbox string
	now    func() time.Time
}

// New makes a mailer. smtpURL is smtp://user:pass@host:port?from=addr
// (STARTTLS when the server offers it) or smtps://… (TLS from the start);
// empty means the outbox folder. from is used when the URL names none.
func New(smtpURL, outboxDir, from string, now func() time.Time) (*Mailer, error) {
	if now == nil {
		now = time.Now
	}
	m := &Mailer{from: from, outbox: outboxDir, now: now}
	if smtpURL == "" {
		return m, nil
	}
	u, err := url.Parse(smtpURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return nil, fmt.Errorf("ALUMNIPASS_SMTP_URL must look like smtp://user:pass@host:587?from=hr@example.com")
	}
	if f := u.Query().Get("from"); f != "" {
		m.from = f
	}
	if _, err := mail.ParseAddress(m.from); err != nil {
		return nil, fmt.Errorf("ALUMNIPASS_SMTP_URL: the from address %q is not an e-mail address", m.from)
	}
	m.smtp = u
	return m, nil
}

// Via says where messages go: "smtp" or "outbox".
func (m *Mailer) Via() string {
	if m.smtp != nil {
		return "smtp"
	}
	return "outbox"
}

// Send delivers msg and returns where it went: the SMTP host, or the path of
// the .eml file in the outbox.
func (m *Mailer) Send(ctx context.Context, msg Message) (string, error) {
	if _, err := mail.ParseAddress(msg.To); err != nil || strings.ContainsAny(msg.To, "\r\n") {
		return "", fmt.Errorf("send mail: bad recipient %q: %w", msg.To, ErrRejected)
	}
	if !validKey(msg.Key) {
		return "", fmt.Errorf("send mail: bad key %q", msg.Key)
	}
	raw, err := m.compose(msg)
	if err != nil {
		return "", err
	}
	if m.smtp == nil {
		return m.writeOutbox(raw, msg.Key)
	}
	if err := m.sendSMTP(ctx, msg.To, raw); err != nil {
		return "", err
	}
	return m.smtp.Host, nil
}

// compose writes an RFC 5322 message: UTF-8 text in base64, the subject
// and names as RFC 2047 encoded words.
func (m *Mailer) compose(msg Message) ([]byte, error) {
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("message id: %w", err)
	}
	domain := "alumnipass.invalid"
	if at := strings.LastIndex(m.from, "@"); at >= 0 {
		domain = strings.Trim(m.from[at+1:], "> ")
	}
	to := (&mail.Address{Name: msg.ToName, Address: msg.To}).String()
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", (&mail.Address{Name: "alumnipass", Address: m.from}).String())
	header("To", to)
	header("Subject", mime.BEncoding.Encode("UTF-8", strings.ReplaceAll(msg.Subject, "\n", " ")))
	header("Date", m.now().Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(id)+"@"+domain+">")
	header("MIME-Version", "1.0")
	header("Content-Type", `text/plain; charset="UTF-8"`)
	header("Content-Transfer-Encoding", "base64")
	b.WriteString("\r\n")
	body := base64.StdEncoding.EncodeToString([]byte(strings.ReplaceAll(msg.Body, "\n", "\r\n")))
	for len(body) > 76 {
		b.WriteString(body[:76] + "\r\n")
		body = body[76:]
	}
	b.WriteString(body + "\r\n")
	return b.Bytes(), nil
}

func (m *Mailer) writeOutbox(raw []byte, key string) (string, error) {
	if err := os.MkdirAll(m.outbox, 0o700); err != nil {
		return "", fmt.Errorf("outbox: %w", err)
	}
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return "", fmt.Errorf("outbox name: %w", err)
	}
	name := m.now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(suffix) + ".eml"
	if key != "" {
		name = key + ".eml"
	}
	path := filepath.Join(m.outbox, name)
	// Written aside and renamed: the .eml appears whole or not at all.
	tmp := filepath.Join(m.outbox, ".tmp-"+hex.EncodeToString(suffix)+"-"+strings.TrimSuffix(name, ".eml")) // not a .eml: a crash may leave it
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return "", fmt.Errorf("outbox: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("outbox: %w", err)
	}
	return path, nil
}

// Confirm says whether the message named key was sent. Only the outbox can
// tell (known is true there); an SMTP server cannot be asked afterwards.
func (m *Mailer) Confirm(key string) (sent, known bool) {
	if m.smtp != nil || !validKey(key) || key == "" {
		return false, false
	}
	_, err := os.Stat(filepath.Join(m.outbox, key+".eml"))
	if err == nil {
		return true, true
	}
	return false, errors.Is(err, os.ErrNotExist)
}

// validKey: empty, or up to 128 letters, digits and '-'.
func validKey(k string) bool {
	if len(k) > 128 {
		return false
	}
	for _, r := range k {
		if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// refused marks a permanent (5xx) SMTP answer as ErrRejected.
func refused(err error) error {
	var tp *textproto.Error
	if errors.As(err, &tp) && tp.Code >= 500 {
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	return err
}

func (m *Mailer) sendSMTP(ctx context.Context, to string, raw []byte) error {
	host := m.smtp.Hostname()
	port := m.smtp.Port()
	if port == "" {
		port = "587"
		if m.smtp.Scheme == "smtps" {
			port = "465"
		}
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	var conn net.Conn
	var err error
	if m.smtp.Scheme == "smtps" {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}}).DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	} else {
		conn, err = d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	}
	if err != nil {
		return fmt.Errorf("smtp connect: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp hello: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok && m.smtp.Scheme == "smtp" {
		if err := c.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("smtp starttls: %w", err)
		}
	}
	if user := m.smtp.User; user != nil && user.Username() != "" {
		pass, _ := user.Password()
		// PlainAuth refuses to send the password unless the connection is
		// TLS or to localhost.
		if err := c.Auth(smtp.PlainAuth("", user.Username(), pass, host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	from, _ := mail.ParseAddress(m.from)
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("smtp from: %w", refused(err))
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("smtp to: %w", refused(err))
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp data: %w", refused(err))
	}
	// The server accepted the message with its answer to DATA; a failed
	// QUIT does not undo that, so it is not a failure to send.
	_ = c.Quit()
	return nil
}
