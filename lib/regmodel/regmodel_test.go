package regmodel

import (
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"
)

func op(client int, call, ret int64, in Input, out Output) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret}
}

// TestModel: linearizable histories pass, each definite outcome is
// checked, and an unknown write may or may not have happened.
func TestModel(t *testing.T) {
	check := func(ops ...porcupine.Operation) bool {
		return porcupine.CheckOperations(Model(), ops)
	}
	require.True(t, check(
		op(0, 0, 1, Input{Key: 1, F: Read}, Output{Code: KeyDoesNotExist}),
		op(0, 2, 3, Input{Key: 1, F: Write, Value: 5}, Output{}),
		op(1, 4, 5, Input{Key: 1, F: Cas, From: 4, To: 6}, Output{Code: PreconditionFailed}),
		op(1, 6, 7, Input{Key: 1, F: Cas, From: 5, To: 6}, Output{}),
		op(0, 8, 9, Input{Key: 1, F: Read}, Output{Value: 6}),
		op(0, 8, 9, Input{Key: 2, F: Cas, From: 1, To: 2}, Output{Code: KeyDoesNotExist}),
	))
	require.False(t, check(
		op(0, 0, 1, Input{Key: 1, F: Write, Value: 5}, Output{}),
		op(1, 2, 3, Input{Key: 1, F: Read}, Output{Code: KeyDoesNotExist}),
	), "a read after a write sees it")
	require.False(t, check(
		op(0, 0, 1, Input{Key: 1, F: Write, Value: 5}, Output{}),
		op(1, 2, 3, Input{Key: 1, F: Cas, From: 5, To: 6}, Output{Code: PreconditionFailed}),
	), "a 22 must see another value")
	for _, seen := range []int64{5, 7} {
		require.True(t, check(
			op(0, 0, 1, Input{Key: 1, F: Write, Value: 5}, Output{}),
			op(1, 2, 1<<62, Input{Key: 1, F: Write, Value: 7}, Output{Unknown: true}),
			op(0, 3, 4, Input{Key: 1, F: Read}, Output{Value: seen}),
		), "an unknown write may or may not have happened: read %d", seen)
	}
}
