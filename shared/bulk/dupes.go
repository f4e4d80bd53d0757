package bulk

import "hash/maphash"

// Finding the same account twice in a file of a million rows, exactly, in little memory.
//
// The first pass keeps one 4-byte word per account in an open-addressing table: a 31-bit
// hash of its login key and a flag. A row whose hash is already there is only a suspect:
// it may name the same account, or another whose hash collides. Suspects are held back
// (not checked further, not counted) and their hash's word is flagged. Only when there
// are suspects does a second pass read the file again and compare the login keys
// themselves, for rows of flagged hashes alone, so the verdicts are exact: a suspect whose
// key was seen before is a duplicate of that line; any other is checked as every row is.
//
// Memory: the table holds at most 3/4 of its slots, so a million accounts take 8 MiB
// (4 MiB more while it doubles); the second pass adds the keys of the flagged groups only,
// which are the duplicated accounts and the collisions (about 230 in a million distinct
// accounts), never the whole file. A second read is cheaper than the first: it checks no
// passwords.

// accountSet is the first pass's table.
type accountSet struct {
	hash  func(string) uint64
	slots []uint32 // hash<<1 | flag; 0 is an empty slot
	n     int
}

// newAccountSet's hash is seeded per file, so nobody can prepare colliding names.
func newAccountSet() *accountSet {
	seed := maphash.MakeSeed()
	return &accountSet{hash: func(key string) uint64 { return maphash.String(seed, key) }, slots: make([]uint32, 1024)}
}

// word is key's 31-bit hash, never 0, shifted to leave the flag bit free.
func (s *accountSet) word(key string) uint32 {
	h := uint32(s.hash(key) >> 33)
	if h == 0 {
		h = 1
	}
	return h << 1
}

// find returns the slot of w's hash: where it is, or the empty slot where it would go.
func (s *accountSet) find(w uint32) int {
	mask := len(s.slots) - 1
	i := int(w>>1) & mask
	for s.slots[i] != 0 && s.slots[i]&^1 != w {
		i = (i + 1) & mask
	}
	return i
}

// add records key and reports whether its hash was there already (a suspect), flagging
// the hash if so.
func (s *accountSet) add(key string) (suspect bool) {
	w := s.word(key)
	i := s.find(w)
	if s.slots[i] != 0 {
		s.slots[i] |= 1
		return true
	}
	s.slots[i] = w
	s.n++
	if s.n*4 > len(s.slots)*3 {
		s.grow()
	}
	return false
}

func (s *accountSet) grow() {
	old := s.slots
	s.slots = make([]uint32, 2*len(old))
	for _, w := range old {
		if w != 0 {
			s.slots[s.find(w&^1)] = w
		}
	}
}

// flagged reports whether key's hash had a suspect in the first pass.
func (s *accountSet) flagged(key string) bool {
	i := s.find(s.word(key))
	return s.slots[i]&1 == 1
}
