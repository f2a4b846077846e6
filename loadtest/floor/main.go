// Command floor is what a chat server's cost is measured against: a plain
// golang.org/x/crypto/ssh server that writes each line anyone types to
// every session, and does nothing else (no screen, no names, no limits).
// What chatroom spends above it is the price of being a chat.
//
//	go run ./loadtest/floor -listen 127.0.0.1:2223
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof" // for -pprof
	"sync"

	gossh "golang.org/x/crypto/ssh"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:2223", "address to listen on")
	pprof := flag.String("pprof", "", "serve /debug/pprof/ at this address, to profile the floor beside chatroom")
	flag.Parse()
	if *pprof != "" {
		go func() { log.Print(http.ListenAndServe(*pprof, nil)) }()
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		log.Fatal(err)
	}
	cfg := &gossh.ServerConfig{
		PublicKeyCallback: func(gossh.ConnMetadata, gossh.PublicKey) (*gossh.Permissions, error) { return nil, nil },
		KeyboardInteractiveCallback: func(gossh.ConnMetadata, gossh.KeyboardInteractiveChallenge) (*gossh.Permissions, error) {
			return nil, nil
		},
	}
	cfg.AddHostKey(signer)
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("msg=listening addr=%s", l.Addr())
	r := &room{}
	for {
		c, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(c, cfg, r)
	}
}

// room is everyone's output queue.
type room struct {
	mu   sync.Mutex
	outs map[*out]struct{}
}

// out is one session's output: lines wait in a queue and one goroutine
// writes them, so that a slow reader holds up nobody.
type out struct{ lines chan []byte }

func (r *room) add(o *out) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.outs == nil {
		r.outs = map[*out]struct{}{}
	}
	r.outs[o] = struct{}{}
	return len(r.outs)
}

func (r *room) remove(o *out) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.outs, o)
}

func (r *room) say(line []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for o := range r.outs {
		select {
		case o.lines <- line:
		default: // that reader is far behind: it misses the line
		}
	}
}

func serve(c net.Conn, cfg *gossh.ServerConfig, r *room) {
	conn, chans, reqs, err := gossh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	defer conn.Close()
	go gossh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(gossh.UnknownChannelType, "sessions only")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			for req := range chReqs {
				req.Reply(req.Type == "pty-req" || req.Type == "shell" || req.Type == "env" || req.Type == "window-change", nil)
				if req.Type == "shell" {
					go session(conn.User(), ch, r)
				}
			}
		}()
	}
}

func session(user string, ch gossh.Channel, r *room) {
	defer ch.Close()
	o := &out{lines: make(chan []byte, 1024)}
	n := r.add(o)
	defer r.remove(o)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case line := <-o.lines:
				if _, err := ch.Write(line); err != nil {
					return
				}
			case <-done:
				return
			}
		}
	}()
	fmt.Fprintf(ch, "Welcome, %s. %d online \r\n", user, n)
	buf := make([]byte, 4096)
	var line []byte
	for {
		k, err := ch.Read(buf)
		for _, b := range buf[:k] {
			if b != '\r' {
				line = append(line, b)
				continue
			}
			r.say([]byte(user + ": " + string(line) + "\r\n"))
			line = line[:0]
		}
		if err != nil {
			return
		}
	}
}
