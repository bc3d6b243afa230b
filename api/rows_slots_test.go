package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// blockingWriter is a response whose writes wait until release is closed (a client that stopped reading).
type blockingWriter struct {
	http.ResponseWriter
	release chan struct{}
}

func (b blockingWriter) Write(p []byte) (int, error) {
	<-b.release
	return len(p), nil
}

// TestEncodeSlotsNotHeldWhileWriting: a stream holds an encode slot while it reads and encodes, gives it up
// while it writes to its client, so streams whose clients stall never keep the others from encoding; a
// request that ends while waiting for a slot gets its context's error.
func TestEncodeSlotsNotHeldWhileWriting(t *testing.T) {
	n := cap(encodeSlots)
	stalled := blockingWriter{ResponseWriter: httptest.NewRecorder(), release: make(chan struct{})}
	writing := make(chan struct{}, n+2)
	for range n + 2 { // more stalled streams than slots
		sw, err := takeEncodeSlot(context.Background(), stalled)
		require.NoError(t, err)
		go func() {
			writing <- struct{}{}
			_, _ = sw.Write([]byte("rows"))
			sw.done()
		}()
		<-writing
		require.Eventually(t, func() bool { return len(encodeSlots) == 0 }, 5*time.Second, time.Millisecond,
			"the stalled stream gave its slot up")
	}
	// Every slot is free: another stream encodes at once.
	sw, err := takeEncodeSlot(context.Background(), httptest.NewRecorder())
	require.NoError(t, err)
	_, err = sw.Write([]byte("x"))
	require.NoError(t, err)
	require.Len(t, encodeSlots, 1, "held again after the write")

	// With every slot taken, a request that ends while it waits gets its context's error.
	var held []*slotWriter
	for range n - 1 {
		h, err := takeEncodeSlot(context.Background(), httptest.NewRecorder())
		require.NoError(t, err)
		held = append(held, h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = takeEncodeSlot(ctx, httptest.NewRecorder())
	require.ErrorIs(t, err, context.DeadlineExceeded)
	sw.done()
	for _, h := range held {
		h.done()
	}
	require.Empty(t, encodeSlots)
	close(stalled.release)
	require.Eventually(t, func() bool { return len(encodeSlots) == 0 }, 5*time.Second, time.Millisecond)
}
