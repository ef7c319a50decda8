package state

// Scratch returns a copy of the store whose changes stay in memory: a plan runs the steps'
// find-and-record logic on it without ever writing, replacing or removing the state file.
func (s *Store) Scratch() *Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &Store{backend: s.backend, env: s.env, where: s.where, version: s.version, data: s.copyData(), scratch: true}
}
