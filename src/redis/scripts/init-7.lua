-- The first handle creates the queue; later ones learn its settings.
-- ARGV[1] maxsize ('' when the handle did not say), ARGV[2] kind ('queue' | 'joinable-queue'), ARGV[3] retry
-- Returns { maxsize, kind }: the queue's own, which the caller compares with what it was given.
redis.call('HSETNX', KEYS[1], 'maxsize', ARGV[1] == '' and '0' or ARGV[1])
redis.call('HSETNX', KEYS[1], 'kind', ARGV[2])
return redis.call('HMGET', KEYS[1], 'maxsize', 'kind')
