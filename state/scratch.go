package state

// Scratch returns a copy of the store whose changes stay in memory: a plan runs the steps'
// find-and-record logic on it without ever writing, replacing or removing the state file.
func (s *Store) Scratch() *Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &Store{backend: s.backend, env: s.env, where: s.where, version: s.version, data: s.copyData(), scratch: true}
}

// Empty is a state of env that holds nothing and is never written: what an overlay knows of
// its base, whose resources it finds by their tags, never by the base's state file.
func Empty(env string) *Store {
	return &Store{env: env, data: emptyFile(env), scratch: true}
}
