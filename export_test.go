package socketserver

// TrackedConns returns how many connections s tracks for a forced close.
func TrackedConns(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
