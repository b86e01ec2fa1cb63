package socketserver

import "sync/atomic"

// Stats are a server's counters at one moment, from Server.Stats.
type Stats struct {
	ActiveConns   int64 // stream connections being served now
	TotalConns    int64 // stream connections accepted
	ActivePackets int64 // datagram requests being served now
	TotalPackets  int64 // datagrams taken as requests
	Rejected      int64 // requests VerifyRequest refused
	OverLimit     int64 // connections closed at once for passing MaxConns
	OverIPLimit   int64 // connections closed at once for passing MaxConnsPerIP
	Errors        int64 // errors and panics reported to HandleError
	Truncated     int64 // datagrams dropped for exceeding MaxPacketSize
	Unserved      int64 // requests taken but not served: closed by Close or at Shutdown's deadline before their turn (datagrams still queued in the socket, connections waiting for a worker)
	BytesIn       int64 // bytes read from clients through Reader, and datagram bytes
	BytesOut      int64 // bytes written to clients through Writer and SendTo
}

// counters are the live values behind Stats.
type counters struct {
	activeConns, totalConns     atomic.Int64
	activePackets, totalPackets atomic.Int64
	rejected, errors, truncated atomic.Int64
	unserved                    atomic.Int64
	overLimit, overIPLimit      atomic.Int64
	bytesIn, bytesOut           atomic.Int64
}

// Stats returns the server's counters. It is safe to call at any time,
// from any goroutine.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		ActiveConns:   c.activeConns.Load(),
		TotalConns:    c.totalConns.Load(),
		ActivePackets: c.activePackets.Load(),
		TotalPackets:  c.totalPackets.Load(),
		Rejected:      c.rejected.Load(),
		OverLimit:     c.overLimit.Load(),
		OverIPLimit:   c.overIPLimit.Load(),
		Errors:        c.errors.Load(),
		Truncated:     c.truncated.Load(),
		Unserved:      c.unserved.Load(),
		BytesIn:       c.bytesIn.Load(),
		BytesOut:      c.bytesOut.Load(),
	}
}
