package jobs

import (
	"strings"
	"time"
	"unicode"

	"github.com/alumnipass/alumnipass/internal/i18n"
	"github.com/alumnipass/alumnipass/internal/mailer"
	"github.com/alumnipass/alumnipass/internal/model"
)

// Letter writes the enrolment e-mail in the member's language, with the
// same catalogue text (admin.mail.*) the console sends one at a time.
type Letter struct {
	Catalog       *i18n.Catalog
	CompanyName   string // ALUMNIPASS_COMPANY_NAME; empty = not configured
	CompanyNameEn string // ALUMNIPASS_COMPANY_NAME_EN
}

var jst = time.FixedZone("JST", 9*3600)

// Compose writes the e-mail that carries an enrolment link.
func (l Letter) Compose(m *model.Member, link string, expires time.Time, key string) mailer.Message {
	lang := model.LocaleJA
	if m.Locale == model.LocaleEN {
		lang = model.LocaleEN
	}
	name := memberName(lang, m.FamilyName, m.GivenName)
	date := expires.In(jst).Format("2006年1月2日")
	company := l.CompanyName
	if lang == model.LocaleEN {
		date, company = expires.In(jst).Format("2 January 2006"), l.CompanyNameEn
	}
	signature := l.Catalog.T(lang, "admin.letter.issuer")
	if company != "" {
		signature = company + "\n" + signature
	}
	body := strings.NewReplacer("{name}", name, "{url}", link, "{expires}", date, "{issuer}", signature).
		Replace(l.Catalog.T(lang, "admin.mail.body"))
	return mailer.Message{To: m.Email, ToName: name, Subject: l.Catalog.T(lang, "admin.mail.subject"), Body: body, Key: key}
}

// memberName is a name as a letter writes it: family first, or given
// first in English when the name is in Latin letters.
func memberName(lang, family, given string) string {
	if lang == model.LocaleEN {
		latin := true
		for _, r := range family + given {
			if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) {
				latin = false
				break
			}
		}
		if latin {
			return strings.TrimSpace(given + " " + family)
		}
	}
	return strings.TrimSpace(family + " " + given)
}
