package remoting

import (
	"testing"
	"time"
)

func TestSmokeEcho(t *testing.T) {
	s := startServer(t, func(s *Server) { s.Handle(100, echoHandler) })
	c := newClient(t)
	resp, err := c.Invoke(ctxTimeout(t, 5*time.Second), s.Addr().String(), NewRequest(100, map[string]string{"k": "v"}, []byte("hi")))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ExtFields["k"] != "v" || string(resp.Body) != "hi" {
		t.Fatalf("got %+v", resp)
	}
}
