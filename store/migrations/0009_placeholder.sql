-- 0009: placeholder so this branch's 0010 applies; the real 0009 comes
-- from another branch at merge time (take that file, drop this one).
SELECT 1;
