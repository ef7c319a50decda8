package state

// Scratch returns a copy of the store whose changes stay in memory: a plan runs the steps'
// find-and-record logic on it without ever writing, replacing or removing the state file.
func (s *Store) Scratch() *Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &Store{dir: s.dir, env: s.env, path: s.path, data: s.copyData(), scratch: true}
}
