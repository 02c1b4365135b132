package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alumnipass/alumnipass/internal/credential"
)

// deviceKey is a venue's device (scanner) key.
type deviceKey struct {
	token   string
	venueID string
}

// wallet is what an enrolled phone holds: enough to compute its codes.
type wallet struct {
	memberID   string
	cardID     string
	signedPart string
	secret     []byte
	key        int          // the one device key (venue) that scans this card
	lastStep   atomic.Int64 // the newest TOTP step already shown; see codePool
}

// fixture is everything the load phases need, made through the HTTP API as
// HR, the alumni and the partner would make it.
type fixture struct {
	hrToken   string
	partnerID string
	perkID    string
	keys      []deviceKey
	wallets   []*wallet
	pubs      map[[8]byte]ed25519.PublicKey

	importTook, issueTook, enrolTook time.Duration // setup through the API, for information
	bulk                             bool          // cards issued and enrolled in bulk (setupBulk), not through the API
}

// enrolmentsPerAddress stays under the server's enrolment limit per client
// address (30 per 10 minutes).
const enrolmentsPerAddress = 25

// setupFixture creates a partner with venues, keys and a perk for all tiers,
// then members by CSV import, their cards and their wallet enrolments.
func (b *bench) setupFixture(ctx context.Context, a *api, hrToken, dbURL string) (*fixture, error) {
	fx := &fixture{hrToken: hrToken}
	if err := fx.createPartner(ctx, a, b.opt.venues); err != nil {
		return nil, err
	}
	if b.opt.setup == "bulk" {
		if err := b.setupBulk(ctx, a, fx, dbURL); err != nil {
			return nil, err
		}
		var err error
		fx.pubs, err = fetchPublicKeys(ctx, a)
		return fx, err
	}
	start := time.Now()
	ids, err := fx.importMembers(ctx, a, b.opt.members)
	if err != nil {
		return nil, err
	}
	fx.importTook, start = time.Since(start), time.Now()
	b.logf("imported %d members; issuing cards", len(ids))
	tokens, err := fx.issueCards(ctx, a, ids)
	if err != nil {
		return nil, err
	}
	fx.issueTook, start = time.Since(start), time.Now()
	b.logf("issued %d cards; enrolling wallets from %d loopback addresses", len(tokens), (len(tokens)+enrolmentsPerAddress-1)/enrolmentsPerAddress)
	if fx.wallets, err = enrolWallets(ctx, a, ids, tokens, len(fx.keys)); err != nil {
		return nil, err
	}
	fx.enrolTook = time.Since(start)
	if fx.pubs, err = fetchPublicKeys(ctx, a); err != nil {
		return nil, err
	}
	return fx, nil
}

func (fx *fixture) createPartner(ctx context.Context, a *api, venues int) error {
	var partner struct {
		ID     string `json:"id"`
		Venues []struct {
			ID string `json:"id"`
		} `json:"venues"`
	}
	err := a.call(ctx, http.MethodPost, "/api/v1/partners", fx.hrToken,
		map[string]string{"name": "ベンチ食堂", "kind": "restaurant", "venue_name": "ベンチ食堂 1号店"}, &partner)
	if err != nil {
		return err
	}
	if len(partner.Venues) == 0 {
		return fmt.Errorf("partner %s has no first venue", partner.ID)
	}
	fx.partnerID = partner.ID
	venueIDs := []string{partner.Venues[0].ID}
	for i := 2; i <= venues; i++ {
		var v struct {
			ID string `json:"id"`
		}
		path := "/api/v1/partners/" + fx.partnerID + "/venues"
		if err := a.call(ctx, http.MethodPost, path, fx.hrToken, map[string]string{"name": fmt.Sprintf("ベンチ食堂 %d号店", i)}, &v); err != nil {
			return err
		}
		venueIDs = append(venueIDs, v.ID)
	}
	for i, vid := range venueIDs {
		var k struct {
			Key     string `json:"key"`
			VenueID string `json:"venue_id"`
		}
		path := "/api/v1/partners/" + fx.partnerID + "/keys"
		if err := a.call(ctx, http.MethodPost, path, fx.hrToken, map[string]string{"name": fmt.Sprintf("scanner %d", i+1), "venue_id": vid}, &k); err != nil {
			return err
		}
		fx.keys = append(fx.keys, deviceKey{token: k.Key, venueID: vid})
	}
	var perk struct {
		ID string `json:"id"`
	}
	err = a.call(ctx, http.MethodPost, "/api/v1/partners/"+fx.partnerID+"/perks", fx.hrToken, map[string]any{
		"title": "お食事 10% オフ", "eligible_tiers": []string{"*"}, "companions": 3}, &perk)
	fx.perkID = perk.ID
	return err
}

// importReport is the part of the import answer apbench reads.
type importReport struct {
	Created int `json:"created"`
	Lines   []struct {
		MemberID string `json:"member_id"`
	} `json:"lines"`
}

func (fx *fixture) importMembers(ctx context.Context, a *api, n int) ([]string, error) {
	var rep importReport
	if err := a.call(ctx, http.MethodPost, "/api/v1/members/import", fx.hrToken, memberCSV("BENCH", n), &rep); err != nil {
		return nil, err
	}
	if rep.Created != n || len(rep.Lines) != n {
		return nil, fmt.Errorf("import created %d members of %d", rep.Created, n)
	}
	ids := make([]string, n)
	for i, l := range rep.Lines {
		ids[i] = l.MemberID
	}
	return ids, nil
}

func (fx *fixture) issueCards(ctx context.Context, a *api, memberIDs []string) ([]string, error) {
	tokens := make([]string, len(memberIDs))
	err := parallel(ctx, 32, len(memberIDs), func(i int) error {
		var out struct {
			Token string `json:"enrollment_token"`
		}
		err := a.call(ctx, http.MethodPost, "/api/v1/members/"+memberIDs[i]+"/cards", fx.hrToken, nil, &out)
		tokens[i] = out.Token
		return err
	})
	return tokens, err
}

// enrolWallets enrols every card as its alumnus's phone would, each batch
// of enrolmentsPerAddress from its own loopback source address.
func enrolWallets(ctx context.Context, a *api, memberIDs, tokens []string, keys int) ([]*wallet, error) {
	wallets := make([]*wallet, len(tokens))
	batches := (len(tokens) + enrolmentsPerAddress - 1) / enrolmentsPerAddress
	err := parallel(ctx, 32, batches, func(bi int) error {
		phone := a.fromAddress(net.IPv4(127, 1, byte(bi/250), byte(bi%250+1)))
		defer phone.client.CloseIdleConnections()
		for i := bi * enrolmentsPerAddress; i < min(len(tokens), (bi+1)*enrolmentsPerAddress); i++ {
			var e struct {
				CardID     string `json:"card_id"`
				SignedPart string `json:"signed_part"`
				TOTPSecret string `json:"totp_secret"`
			}
			if err := phone.call(ctx, http.MethodPost, "/api/v1/wallet/enroll", "", map[string]any{"token": tokens[i], "consent": true}, &e); err != nil {
				return err
			}
			secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.TOTPSecret)
			if err != nil {
				return fmt.Errorf("totp_secret of card %s: %w", e.CardID, err)
			}
			wallets[i] = &wallet{memberID: memberIDs[i], cardID: e.CardID, signedPart: e.SignedPart, secret: secret, key: i % keys}
		}
		return nil
	})
	return wallets, err
}

// fetchPublicKeys reads keys.json as an offline verifier would.
func fetchPublicKeys(ctx context.Context, a *api) (map[[8]byte]ed25519.PublicKey, error) {
	var jwks struct {
		Keys []struct {
			X   string `json:"x"`
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := a.call(ctx, http.MethodGet, "/.well-known/alumnipass/keys.json", "", nil, &jwks); err != nil {
		return nil, err
	}
	pubs := map[[8]byte]ed25519.PublicKey{}
	for _, k := range jwks.Keys {
		raw, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("keys.json: key %s is not an Ed25519 public key", k.Kid)
		}
		id, err := credential.ParseKeyID(k.Kid)
		if err != nil {
			return nil, err
		}
		pubs[id] = raw
	}
	if len(pubs) == 0 {
		return nil, fmt.Errorf("keys.json lists no keys")
	}
	return pubs, nil
}

// memberCSV is an HR export of n members in the API column layout, with the
// Japanese names and kana a real file has.
func memberCSV(prefix string, n int) []byte {
	families := []string{"髙橋", "山﨑", "佐藤", "鈴木", "田中", "渡邊", "伊藤", "中村"}
	kana := []string{"タカハシ", "ヤマザキ", "サトウ", "スズキ", "タナカ", "ワタナベ", "イトウ", "ナカムラ"}
	givens := []string{"太郎", "花子", "健", "美咲"}
	givenKana := []string{"タロウ", "ハナコ", "ケン", "ミサキ"}
	tiers := []string{"standard", "standard", "gold"}
	var buf bytes.Buffer
	buf.Grow(n * 110)
	buf.WriteString("employee_no,family_name,given_name,family_name_kana,given_name_kana,email,tier,departed_on,locale\r\n")
	for i := range n {
		f, g := i%len(families), i%len(givens)
		fmt.Fprintf(&buf, "%s-%07d,%s,%s,%s,%s,%s.%d@alumni.example.co.jp,%s,20%02d-%02d-%02d,%s\r\n",
			prefix, i, families[f], givens[g], kana[f], givenKana[g], prefix, i, tiers[i%len(tiers)],
			15+i%10, 1+i%12, 1+i%28, []string{"ja", "en"}[i%2])
	}
	return buf.Bytes()
}

// parallel calls fn(0..n-1) on workers goroutines and returns the first
// error; after an error the remaining calls are skipped.
func parallel(ctx context.Context, workers, n int, fn func(i int) error) error {
	var next atomic.Int64
	var once sync.Once
	var first error
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}
