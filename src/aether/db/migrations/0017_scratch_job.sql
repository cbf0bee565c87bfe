-- 0017: the `scratch` maintenance job (aether.ops.maintenance, aether.queue.scratch): every 15 minutes it
-- removes the scratch folders of AETHER_HOME/work that no running task attempt owns (a worker killed with
-- kill -9 leaves its render's folder behind).
INSERT INTO periodic_tasks (name, cron, task_type, agent_name, payload, priority, max_attempts)
VALUES ('ops.scratch', '*/15 * * * *', 'maintenance.run', 'maintenance', '{"job": "scratch"}', 0, 2)
ON CONFLICT (name) DO NOTHING;
