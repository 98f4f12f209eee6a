package totp_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"secureapi/internal/platform/totp"
)

// RFC 6238 appendix B test vector (SHA-1): the ASCII secret
// "12345678901234567890", base32-encoded.
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

func TestCodeMatchesRFC6238Vectors(t *testing.T) {
	for _, v := range []struct {
		unix int64
		want string // the RFC's 8-digit value, last six digits
	}{
		{59, "287082"}, {1111111109, "081804"}, {1234567890, "005924"}, {2000000000, "279037"},
	} {
		got, err := totp.Code(rfcSecret, time.Unix(v.unix, 0))
		if err != nil || got != v.want {
			t.Errorf("Code(%d) = %q, %v; want %q", v.unix, got, err, v.want)
		}
	}
}

func TestMatchWindowAndReplay(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	step := totp.Step(now)
	code := func(d time.Duration) string {
		c, err := totp.Code(rfcSecret, now.Add(d))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name     string
		code     string
		lastStep int64
		wantOK   bool
		wantStep int64
	}{
		{"current step", code(0), 0, true, step},
		{"previous step (clock drift)", code(-totp.Period), 0, true, step - 1},
		{"next step", code(totp.Period), 0, true, step + 1},
		{"two steps old", code(-2 * totp.Period), 0, false, 0},
		{"two steps ahead", code(2 * totp.Period), 0, false, 0},
		{"spaces are ignored", code(0)[:3] + " " + code(0)[3:], 0, true, step},
		{"the step already used is refused", code(0), step, false, 0},
		{"an earlier step than the used one is refused", code(-totp.Period), step, false, 0},
		{"a later step than the used one passes", code(totp.Period), step, true, step + 1},
		{"wrong length", "12345", 0, false, 0},
		{"not digits", "abcdef", 0, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := totp.Match(rfcSecret, tt.code, now, tt.lastStep)
			if err != nil || ok != tt.wantOK || got != tt.wantStep {
				t.Fatalf("Match = %d, %v, %v; want %d, %v", got, ok, err, tt.wantStep, tt.wantOK)
			}
		})
	}
}

func TestMatchRefusesBadSecrets(t *testing.T) {
	for _, s := range []string{"", "not base32!", "JBSWY3DP"} {
		if _, _, err := totp.Match(s, "123456", time.Now(), 0); err == nil {
			t.Errorf("Match with secret %q: no error", s)
		}
	}
}

func TestGenerate(t *testing.T) {
	k, err := totp.Generate("Secure API", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Secret) != 32 { // 20 bytes of base32
		t.Errorf("secret %q is not 160 bits of base32", k.Secret)
	}
	u, err := url.Parse(k.URI)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("secret") != k.Secret ||
		u.Query().Get("issuer") != "Secure API" || u.Query().Get("digits") != "6" || u.Query().Get("period") != "30" ||
		!strings.HasSuffix(u.Path, ":alice@example.com") {
		t.Errorf("URI = %q", k.URI)
	}
	if _, err := totp.Code(k.Secret, time.Now()); err != nil {
		t.Errorf("code of a generated secret: %v", err)
	}
	qr, err := totp.QRCodeDataURL(k.URI)
	if err != nil || !strings.HasPrefix(qr, "data:image/png;base64,iVBORw0KGgo") {
		t.Errorf("QR = %.40q, %v", qr, err)
	}
	k2, _ := totp.Generate("Secure API", "alice@example.com")
	if k2.Secret == k.Secret {
		t.Error("two secrets are equal")
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, err := totp.NewRecoveryCodes()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 19 || strings.Count(c, "-") != 3 || strings.ToLower(c) != c || seen[c] {
			t.Errorf("code %q: want 4 groups of 4 lower-case characters, all distinct", c)
		}
		seen[c] = true
	}
	if len(codes) != totp.RecoveryCodeCount {
		t.Fatalf("%d codes", len(codes))
	}
	h := totp.HashRecoveryCode("u1", codes[0])
	if totp.HashRecoveryCode("u1", strings.ToUpper(strings.ReplaceAll(codes[0], "-", " "))) != h {
		t.Error("the same code in another spelling hashes differently")
	}
	if totp.HashRecoveryCode("u2", codes[0]) == h {
		t.Error("the same code of two accounts hashes the same")
	}
}
