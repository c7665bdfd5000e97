package dashboard

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// routes registers every API endpoint (docs/dashboard.md lists them).
func (s *Server) routes() {
	s.handle("GET /api/cluster", s.cluster)
	s.handle("GET /api/runtime", s.runtime)
	s.handle("GET /api/topics", s.topics)
	s.handle("GET /api/topic", s.topic)
	s.handle("POST /api/topic", s.upsertTopic)
	s.handle("POST /api/topic/delete", s.deleteTopic)
	s.handle("POST /api/topic/send", s.sendMessage)
	s.handle("GET /api/groups", s.groups)
	s.handle("GET /api/group", s.group)
	s.handle("POST /api/group/reset", s.resetGroup)
	s.handle("GET /api/messages/key", s.messagesByKey)
	s.handle("GET /api/messages/id", s.messageByID)
	s.handle("GET /api/trace", s.trace)
	s.handle("GET /api/dlq", s.dlq)
	s.handle("POST /api/dlq/resend", s.resendDLQ)
	s.handle("GET /api/transactions", s.transactions)
	s.handle("POST /api/transactions/resolve", s.resolveTransaction)
	s.handle("POST /api/timer/cancel", s.cancelTimer)
	s.handle("GET /api/messages/browse", s.browseMessages) // api_browse.go
	s.handle("POST /api/messages/resend", s.resendMessage)
	s.handle("GET /api/timers", s.timerMessages)
	s.handle("GET /api/controller", s.controller) // api_controller.go
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such API: " + r.Method + " " + r.URL.Path})
	})
}

// brokerRow is one broker of the cluster page.
type brokerRow struct {
	Cluster    string            `json:"cluster"`
	BrokerName string            `json:"brokerName"`
	BrokerID   int64             `json:"brokerId"`
	Addr       string            `json:"addr"`
	Role       string            `json:"role"`
	Version    string            `json:"version"`
	PutTPS     float64           `json:"putTps"`
	GetTPS     float64           `json:"getTps"`
	DiskRatio  float64           `json:"diskRatio"`
	Stats      map[string]string `json:"stats,omitempty"`
	Error      string            `json:"error,omitempty"`
}

// cluster lists every broker the NameServer knows with its runtime figures
// (GET_BROKER_CLUSTER_INFO, then GET_BROKER_RUNTIME_INFO of each).
func (s *Server) cluster(ctx context.Context, _ *http.Request) (any, error) {
	ci, err := s.admin.Clusters(ctx)
	if err != nil {
		return nil, err
	}
	clusterOf := map[string]string{}
	for c, names := range ci.ClusterAddrTable {
		for _, n := range names {
			clusterOf[n] = c
		}
	}
	rows := []brokerRow{}
	for name, bd := range ci.BrokerAddrTable {
		for id, addr := range bd.BrokerAddrs {
			row := brokerRow{Cluster: clusterOf[name], BrokerName: name, BrokerID: id, Addr: addr, Role: "SLAVE"}
			if id == 0 {
				row.Role = "MASTER"
			}
			if st, err := s.admin.BrokerRuntimeStats(ctx, addr); err != nil {
				row.Error = err.Error()
			} else {
				row.Stats = st
				row.Version = st["brokerVersionDesc"]
				row.PutTPS, row.GetTPS = firstFloat(st["putTps"]), firstFloat(st["getTransferedTps"])
				row.DiskRatio = firstFloat(st["commitLogDiskRatio"])
				if r := st["brokerRole"]; r != "" {
					row.Role = r
				}
			}
			rows = append(rows, row)
		}
	}
	slices.SortFunc(rows, func(x, y brokerRow) int {
		if c := strings.Compare(x.Cluster+"/"+x.BrokerName, y.Cluster+"/"+y.BrokerName); c != 0 {
			return c
		}
		return int(x.BrokerID - y.BrokerID)
	})
	return map[string]any{"brokers": rows, "nameServers": s.cfg.NameServers}, nil
}

// runtime returns one broker's runtime table — the live figures mqadmin brokerStatus
// prints. The broker's static configuration (GET_BROKER_CONFIG) is not in the admin
// API; the UI says so.
func (s *Server) runtime(ctx context.Context, r *http.Request) (any, error) {
	addr := r.URL.Query().Get("addr")
	if addr == "" {
		return nil, bad("addr is required")
	}
	st, err := s.admin.BrokerRuntimeStats(ctx, addr)
	if err != nil {
		return nil, err
	}
	return map[string]any{"addr": addr, "runtime": st, "configSupported": false}, nil
}

// firstFloat parses the first of Java's space-separated decimals ("12.5 3.0 1.2").
func firstFloat(s string) float64 {
	f, _ := strconv.ParseFloat(strings.Fields(s + " 0")[0], 64)
	return f
}

// queryInt parses an optional integer query parameter.
func queryInt(r *http.Request, name string, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, bad("%s=%q is not an integer", name, v)
	}
	return n, nil
}

// required returns the query parameter name or a bad request naming it.
func required(r *http.Request, name string) (string, error) {
	v := strings.TrimSpace(r.URL.Query().Get(name))
	if v == "" {
		return "", bad("%s is required", name)
	}
	return v, nil
}
