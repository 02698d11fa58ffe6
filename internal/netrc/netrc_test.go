package netrc

import "testing"

func TestLookup(t *testing.T) {
	f := Parse([]byte(`# a comment
machine example.com login alice password s3cret
machine ftp.example.org
  login bob
  password "p w"
macdef init
cd /pub
binary

default login anon password anon@
`))
	tests := []struct {
		host, login, password string
		ok                    bool
	}{
		{"example.com", "alice", "s3cret", true},
		{"EXAMPLE.com", "alice", "s3cret", true},
		{"ftp.example.org", "bob", `"p`, true},
		{"other.net", "anon", "anon@", true},
	}
	for _, tt := range tests {
		login, password, ok := f.Lookup(tt.host)
		if login != tt.login || password != tt.password || ok != tt.ok {
			t.Errorf("Lookup(%q) = %q %q %v, want %q %q %v", tt.host, login, password, ok, tt.login, tt.password, tt.ok)
		}
	}
	if _, _, ok := Parse([]byte("machine a login x password y")).Lookup("b"); ok {
		t.Error("no default entry, but Lookup of an unknown host succeeded")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("machine a login b password c\ndefault login d"))
	f.Fuzz(func(t *testing.T, data []byte) {
		Parse(data).Lookup("a")
	})
}
