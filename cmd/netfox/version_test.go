package main

import (
	"runtime/debug"
	"testing"
)

func TestVersionOf(t *testing.T) {
	t.Parallel()
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"go install of a tag", debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3"},
		{"go install of a commit", debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261202080000-abcdef123456"}}, "v0.0.0-20261202080000-abcdef123456"},
		{"go build in a checkout", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: settings("vcs.revision", "7e46a04aabbccddeeff", "vcs.modified", "false")}, "7e46a04aabbc"},
		{"modified checkout", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: settings("vcs.revision", "7e46a04aabbccddeeff", "vcs.modified", "true")}, "7e46a04aabbc-modified"},
		{"no VCS", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
		{"nothing", debug.BuildInfo{}, "devel"},
	}
	for _, tt := range tests {
		if got := versionOf(&tt.bi); got != tt.want {
			t.Errorf("%s: versionOf = %q, want %q", tt.name, got, tt.want)
		}
	}
}
