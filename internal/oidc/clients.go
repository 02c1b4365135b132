package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// ClientInput registers a partner website.
type ClientInput struct {
	Name         string   `json:"name"`
	RedirectURIs []string `json:"redirect_uris"`
	LogoURL      string   `json:"logo_url"`
}

// Client is a registered website as the API shows it (never its secret).
type Client struct {
	ID           string     `json:"client_id"`
	PartnerID    string     `json:"partner_id"`
	Name         string     `json:"name"`
	RedirectURIs []string   `json:"redirect_uris"`
	LogoURL      string     `json:"logo_url"`
	CreatedAt    time.Time  `json:"created_at"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
}

// IssuedClient is a new client with its secret, shown once.
type IssuedClient struct {
	Client
	Secret string `json:"client_secret"`
	Issuer string `json:"issuer"`
}

func toClient(c store.OIDCClient) Client {
	return Client{ID: c.ID, PartnerID: c.PartnerID, Name: c.Name, RedirectURIs: strings.Fields(c.RedirectURIs),
		LogoURL: c.LogoURL, CreatedAt: c.CreatedAt, RevokedAt: c.RevokedAt}
}

func partnerNotFound() error {
	return model.NewProblem(model.ErrNotFound, "partner_not_found", "No partner with this id.")
}

// mayManage: HR and admins for any partner, a partner manager for its own
// (any other partner is "not found", as in the partners service).
func mayManage(p *model.Principal, partnerID string) error {
	if p.Can(model.RoleAdmin, model.RoleHR) && p.PartnerID == "" {
		return nil
	}
	if p.Can(model.RolePartnerManager) && p.PartnerID == partnerID {
		return nil
	}
	if p.PartnerID != "" {
		return partnerNotFound()
	}
	return model.NewProblem(model.ErrForbidden, "forbidden", "This token may not manage sign-in clients.")
}

func checkRedirect(raw string) error {
	u, err := url.Parse(raw)
	bad := err != nil || u.Host == "" || u.Fragment != "" || u.User != nil || len(raw) > 500 || strings.ContainsAny(raw, " \t\r\n")
	if !bad && u.Scheme != "https" {
		h := u.Hostname()
		bad = u.Scheme != "http" || h != "localhost" && h != "127.0.0.1" && h != "::1"
	}
	if bad {
		return model.Invalidf("redirect_uris", "invalid_redirect_uri", "each redirect URI must be an absolute https URL (http only for localhost) without a fragment")
	}
	return nil
}

func checkInput(in *ClientInput) error {
	in.Name = strings.TrimSpace(in.Name)
	if n := utf8.RuneCountInString(in.Name); n == 0 || n > 100 {
		return model.Invalidf("name", "invalid_name", "name must be 1 to 100 characters")
	}
	if len(in.RedirectURIs) == 0 || len(in.RedirectURIs) > 10 {
		return model.Invalidf("redirect_uris", "invalid_redirect_uri", "give 1 to 10 redirect URIs")
	}
	for _, r := range in.RedirectURIs {
		if err := checkRedirect(r); err != nil {
			return err
		}
	}
	in.LogoURL = strings.TrimSpace(in.LogoURL)
	if in.LogoURL != "" {
		u, err := url.Parse(in.LogoURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || len(in.LogoURL) > 500 {
			return model.Invalidf("logo_url", "invalid_logo_url", "logo_url must be an https URL")
		}
	}
	return nil
}

// CreateClient registers a website of the partner and returns its secret
// once; only the secret's hash is kept. Audited.
func (p *Provider) CreateClient(ctx context.Context, pr *model.Principal, partnerID string, in ClientInput) (*IssuedClient, error) {
	if err := mayManage(pr, partnerID); err != nil {
		return nil, err
	}
	if err := checkInput(&in); err != nil {
		return nil, err
	}
	if _, err := uuid.Parse(partnerID); err != nil {
		return nil, partnerNotFound()
	}
	pa, err := p.st.Partner(ctx, partnerID)
	if errors.Is(err, model.ErrNotFound) {
		return nil, partnerNotFound()
	}
	if err != nil {
		return nil, err
	}
	if pa.DeactivatedAt != nil {
		return nil, model.NewProblem(model.ErrConflict, "partner_deactivated", "This partner is deactivated.")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("client secret: %w", err)
	}
	secret := "apcs_" + base64.RawURLEncoding.EncodeToString(b)
	now := p.now()
	c := store.OIDCClient{ID: uuid.Must(uuid.NewV7()).String(), PartnerID: partnerID, Name: in.Name,
		RedirectURIs: strings.Join(in.RedirectURIs, "\n"), LogoURL: in.LogoURL, SecretHash: hashOf(secret), CreatedAt: now}
	err = p.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateOIDCClient(ctx, &c); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, pr.Audit(uuid.Must(uuid.NewV7()).String(), now, "oidc_client.create", "partner", partnerID, "",
			model.JSON(map[string]any{"client_id": c.ID, "name": c.Name, "redirect_uris": in.RedirectURIs, "logo_url": c.LogoURL})))
	})
	if err != nil {
		return nil, fmt.Errorf("create oidc client: %w", err)
	}
	return &IssuedClient{Client: toClient(c), Secret: secret, Issuer: p.issuer}, nil
}

// Clients lists a partner's websites, revoked ones included (a read-only
// console viewer may see them too).
func (p *Provider) Clients(ctx context.Context, pr *model.Principal, partnerID string) ([]Client, error) {
	if !(pr.Can(model.RoleViewer) && pr.PartnerID == "") {
		if err := mayManage(pr, partnerID); err != nil {
			return nil, err
		}
	}
	if _, err := uuid.Parse(partnerID); err != nil {
		return nil, partnerNotFound()
	}
	if _, err := p.st.Partner(ctx, partnerID); errors.Is(err, model.ErrNotFound) {
		return nil, partnerNotFound()
	} else if err != nil {
		return nil, err
	}
	cs, err := p.st.PartnerOIDCClients(ctx, partnerID)
	if err != nil {
		return nil, err
	}
	out := make([]Client, 0, len(cs))
	for _, c := range cs {
		out = append(out, toClient(c))
	}
	return out, nil
}

// RevokeClient stops a website at once: its sign-ins, codes and tokens stop
// answering. Audited.
func (p *Provider) RevokeClient(ctx context.Context, pr *model.Principal, partnerID, clientID string) error {
	if err := mayManage(pr, partnerID); err != nil {
		return err
	}
	notFound := model.NewProblem(model.ErrNotFound, "client_not_found", "No sign-in client with this id at this partner.")
	if _, err := uuid.Parse(clientID); err != nil {
		return notFound
	}
	c, err := p.st.OIDCClient(ctx, clientID)
	if errors.Is(err, model.ErrNotFound) || err == nil && c.PartnerID != partnerID {
		return notFound
	}
	if err != nil {
		return err
	}
	if c.RevokedAt != nil {
		return model.NewProblem(model.ErrConflict, "client_revoked", "This client is revoked already.")
	}
	now := p.now()
	return p.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RevokeOIDCClient(ctx, clientID, now); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, pr.Audit(uuid.Must(uuid.NewV7()).String(), now, "oidc_client.revoke", "partner", partnerID, "",
			model.JSON(map[string]string{"client_id": clientID})))
	})
}
