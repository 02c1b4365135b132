package web

// adminRoutes registers the HR console and the partner manager's pages.
func (s *Server) adminRoutes() {}
