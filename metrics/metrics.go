// Package metrics serves chatroom's Prometheus metrics: what sshd and
// sshapp report through their Observers, what the room counts, and Go's
// runtime metrics.
package metrics

import (
	"net/http"
	"net/http/pprof"
	"time"

	"chatroom/internal/reason"
	"chatroom/room"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics implements sshd.Observer and sshapp.Observer, and serves what
// it observed.
type Metrics struct {
	reg         *prometheus.Registry
	connections prometheus.Gauge
	sessions    prometheus.Gauge
	handshakes  prometheus.Histogram
	fanout      prometheus.Histogram
	refusals    *prometheus.CounterVec
	evictions   *prometheus.CounterVec
	slow        prometheus.Counter
}

// New makes the metrics for a server of room r.
func New(r *room.Room) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chatroom_connections", Help: "SSH connections open.",
		}),
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chatroom_sessions", Help: "Chat sessions open, on the join screen or in the room.",
		}),
		handshakes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "chatroom_handshake_seconds",
			Help:    "Time from accepting a connection to its authentication.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14), // 1 ms to 8 s
		}),
		fanout: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "chatroom_fanout_seconds",
			Help:    "Time from a message being sent to its being written to each terminal.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14), // 0.5 ms to 4 s
		}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatroom_refusals_total", Help: "Connections and sessions turned away, by reason.",
		}, []string{"reason"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatroom_evictions_total", Help: "Connections and sessions the server ended, by reason.",
		}, []string{"reason"}),
	}
	m.slow = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "chatroom_slow_consumers_total",
		Help: "Connections closed because a write to them made no progress for the write timeout.",
	})
	m.reg.MustRegister(m.connections, m.sessions, m.handshakes, m.fanout, m.refusals, m.evictions, m.slow,
		roomCollector{r},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves /metrics, and /debug/pprof/ when withPprof is set.
func (m *Metrics) Handler(withPprof bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// The Observer methods.

func (m *Metrics) Connection(open bool)          { add(m.connections, open) }
func (m *Metrics) Session(open bool)             { add(m.sessions, open) }
func (m *Metrics) Handshake(d time.Duration)     { m.handshakes.Observe(d.Seconds()) }
func (m *Metrics) Delivered(delay time.Duration) { m.fanout.Observe(delay.Seconds()) }
func (m *Metrics) Refused(why reason.Reason)     { m.refusals.WithLabelValues(why.String()).Inc() }
func (m *Metrics) Closed(why reason.Reason) {
	m.evictions.WithLabelValues(why.String()).Inc()
	if why == reason.WriteStall {
		m.slow.Inc()
	}
}

func add(g prometheus.Gauge, up bool) {
	if up {
		g.Inc()
	} else {
		g.Dec()
	}
}

// roomCollector reads the room's counters when scraped.
type roomCollector struct{ r *room.Room }

var (
	membersDesc  = prometheus.NewDesc("chatroom_members", "People in the room.", nil, nil)
	messagesDesc = prometheus.NewDesc("chatroom_messages_total", "Messages sent, by kind.", []string{"kind"}, nil)
)

func (c roomCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- membersDesc
	ch <- messagesDesc
}

func (c roomCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.r.Stats()
	ch <- prometheus.MustNewConstMetric(membersDesc, prometheus.GaugeValue, float64(st.Members))
	ch <- prometheus.MustNewConstMetric(messagesDesc, prometheus.CounterValue, float64(st.Messages), "room")
	ch <- prometheus.MustNewConstMetric(messagesDesc, prometheus.CounterValue, float64(st.Private), "private")
	ch <- prometheus.MustNewConstMetric(messagesDesc, prometheus.CounterValue, float64(st.Invitations), "invitation")
}

// Cluster is a node of a cluster on NATS, as its metrics read it.
type Cluster interface {
	// Up reports whether the node is linked to NATS.
	Up() bool
	// Members counts the people online, by node name.
	Members() map[string]int
}

var (
	clusterUpDesc      = prometheus.NewDesc("chatroom_cluster_up", "1 while this node is linked to NATS, else 0.", nil, nil)
	clusterMembersDesc = prometheus.NewDesc("chatroom_cluster_members", "People online in the cluster, by node.", []string{"node"}, nil)
)

type clusterCollector struct{ c Cluster }

func (c clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- clusterUpDesc
	ch <- clusterMembersDesc
}

func (c clusterCollector) Collect(ch chan<- prometheus.Metric) {
	up := 0.0
	if c.c.Up() {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(clusterUpDesc, prometheus.GaugeValue, up)
	for node, n := range c.c.Members() {
		ch <- prometheus.MustNewConstMetric(clusterMembersDesc, prometheus.GaugeValue, float64(n), node)
	}
}

// WatchCluster adds the metrics of a node of a cluster: whether it is
// linked, who is on which node, and (through the func it returns, which
// the node calls) the time from a main-room message's sending on any node
// to its delivery on this one.
func (m *Metrics) WatchCluster(c Cluster) (relayed func(time.Duration)) {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "chatroom_cluster_relay_seconds",
		Help:    "Time from a main-room message being sent on any node to its arrival from NATS on this one (across machines, their clocks' difference counts too).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	m.reg.MustRegister(h, clusterCollector{c})
	return func(d time.Duration) { h.Observe(d.Seconds()) }
}
