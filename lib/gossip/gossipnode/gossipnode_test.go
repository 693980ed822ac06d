package gossipnode

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseFlagsAndConfig(t *testing.T) {
	nodes := []string{"n0", "n1"}
	cases := []struct {
		name  string
		args  []string
		err   bool
		check func(t *testing.T, o Options)
	}{
		{name: "defaults", check: func(t *testing.T, o Options) {
			cfg := o.Config("n1", nodes)
			require.NoError(t, cfg.Validate())
			require.Equal(t, int64(30), cfg.BatchTicks)
			require.True(t, cfg.AlignUploads)
		}},
		{name: "batch and no-align", args: []string{"--batch-ms", "150", "--no-align"}, check: func(t *testing.T, o Options) {
			cfg := o.Config("n1", nodes)
			require.Equal(t, int64(15), cfg.BatchTicks)
			require.False(t, cfg.AlignUploads)
		}},
		{name: "equals form, coarse tick rounds up", args: []string{"--tick-ms=20", "--batch-ms=150"}, check: func(t *testing.T, o Options) {
			require.Equal(t, int64(8), o.Config("n1", nodes).BatchTicks)
		}},
		{name: "ack delay beyond rto keeps the timeouts consistent", args: []string{"--ack-delay-ms", "5000"}, check: func(t *testing.T, o Options) {
			cfg := o.Config("n1", nodes)
			require.NoError(t, cfg.Validate())
			require.Greater(t, cfg.RTOTicks, cfg.AckDelayTicks)
		}},
		{name: "negative", args: []string{"--rto-ms", "-1"}, err: true},
		{name: "unknown flag", args: []string{"--fast"}, err: true},
		{name: "positional", args: []string{"extra"}, err: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := ParseFlags("test", tc.args, io.Discard)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			tc.check(t, o)
		})
	}
}
