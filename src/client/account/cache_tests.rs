use super::LruMap;

#[test]
fn a_full_map_evicts_the_least_recently_used() {
    let mut m: LruMap<u32, &str, 2> = LruMap::default();
    m.put(1, "one");
    m.put(2, "two");
    // 1 is used again, so 2 is the oldest when 3 comes.
    assert_eq!(m.get(&1), Some(&"one"));
    m.put(3, "three");
    assert_eq!(m.len(), 2);
    assert_eq!(m.get(&2), None);
    assert_eq!(m.get(&1), Some(&"one"));
    assert_eq!(m.get(&3), Some(&"three"));
}

#[test]
fn putting_a_known_key_replaces_it_without_evicting() {
    let mut m: LruMap<u32, u32, 2> = LruMap::default();
    m.put(1, 10);
    m.put(2, 20);
    m.put(2, 21);
    assert_eq!(m.len(), 2);
    assert_eq!(m.get(&1), Some(&10));
    assert_eq!(m.get(&2), Some(&21));
}

#[test]
fn a_map_of_one_keeps_the_latest() {
    let mut m: LruMap<u32, u32, 1> = LruMap::default();
    m.put(1, 1);
    m.put(2, 2);
    assert_eq!(m.len(), 1);
    assert_eq!(m.get(&1), None);
    assert_eq!(m.get(&2), Some(&2));
}
