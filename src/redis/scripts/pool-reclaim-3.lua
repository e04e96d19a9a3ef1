-- Takes over the tasks of hosts whose lease expired, for a submitter waiting on them (no host may be idle to do it).
-- ARGV[1] retry
-- Returns how many hosts were taken over.
return reclaim(now_ms())
