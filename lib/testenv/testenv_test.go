package testenv

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLong(t *testing.T) {
	for _, tc := range []struct {
		value string
		long  bool
	}{{"", false}, {"0", false}, {"1", true}, {"yes", true}} {
		t.Setenv(Var, tc.value)
		require.Equal(t, tc.long, Long(), "%s=%q", Var, tc.value)
		require.Equal(t, tc.long, Pick(false, true), "%s=%q", Var, tc.value)
	}
}
