package startgc

import (
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRestoreHonoursGOGC: the collector is off from package initialisation until Restore, which gives it the
// setting of GOGC from the environment (a percent, or off), else 100. Each case runs in a fresh process, as
// the runtime reads GOGC once at start.
func TestRestoreHonoursGOGC(t *testing.T) {
	if os.Getenv("STARTGC_CHILD") != "" {
		during := debug.SetGCPercent(-1) // what init left: off
		Restore()
		after := debug.SetGCPercent(percent)
		os.Stdout.WriteString("during=" + strconv.Itoa(during) + " after=" + strconv.Itoa(after) + "\n")
		return
	}
	for gogc, want := range map[string]string{"": "100", "150": "150", "off": "-1", "20": "20"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRestoreHonoursGOGC$", "-test.count=1")
		cmd.Env = append(withoutGOGC(os.Environ()), "STARTGC_CHILD=1")
		if gogc != "" {
			cmd.Env = append(cmd.Env, "GOGC="+gogc)
		}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		require.Contains(t, string(out), "during=-1 after="+want+"\n", "GOGC=%q", gogc)
	}
}

func withoutGOGC(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "GOGC=") {
			out = append(out, kv)
		}
	}
	return out
}
