package newswire.testnode.holdwrites;

import org.elasticsearch.common.settings.Setting;
import org.elasticsearch.common.settings.Setting.Property;
import org.elasticsearch.index.IndexModule;
import org.elasticsearch.index.engine.Engine;
import org.elasticsearch.index.shard.IndexingOperationListener;
import org.elasticsearch.index.shard.ShardId;
import org.elasticsearch.logging.LogManager;
import org.elasticsearch.logging.Logger;
import org.elasticsearch.plugins.Plugin;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A test seam, not a feature: while the dynamic index setting {@code index.newswire_test.hold_writes}
 * is true, every document written to a primary shard of that index waits just before it reaches the
 * engine, until the setting is turned off again (or 60 seconds pass, so a forgotten hold never wedges
 * the node).
 *
 * <p>A held write has passed every block check and holds its shard operation permit: it is a write
 * "in flight" in Elasticsearch's sense. Tests use it to force, deterministically, the interleaving
 * where an index is blocked for writes while a write is still running on it. Without the setting the
 * module does nothing.
 */
public final class HoldWritesPlugin extends Plugin {
    static final Setting<Boolean> HOLD_WRITES = Setting.boolSetting(
        "index.newswire_test.hold_writes",
        false,
        Property.IndexScope,
        Property.Dynamic
    );
    private static final long MAX_HOLD_NANOS = TimeUnit.SECONDS.toNanos(60);
    private static final Logger logger = LogManager.getLogger(HoldWritesPlugin.class);

    @Override
    public List<Setting<?>> getSettings() {
        return List.of(HOLD_WRITES);
    }

    @Override
    public void onIndexModule(IndexModule module) {
        Gate gate = new Gate(module.indexSettings().getIndex().getName(), HOLD_WRITES.get(module.getSettings()));
        module.addSettingsUpdateConsumer(HOLD_WRITES, gate::set);
        module.addIndexOperationListener(gate);
    }

    /** Open unless the index's hold setting is on; primary writes wait at the closed gate. */
    static final class Gate implements IndexingOperationListener {
        private final String index;
        private boolean held;

        Gate(String index, boolean held) {
            this.index = index;
            this.held = held;
        }

        synchronized void set(boolean held) {
            this.held = held;
            notifyAll();
        }

        @Override
        public Engine.Index preIndex(ShardId shardId, Engine.Index operation) {
            if (operation.origin() == Engine.Operation.Origin.PRIMARY) {
                waitWhileHeld(operation.id());
            }
            return operation;
        }

        private synchronized void waitWhileHeld(String id) {
            if (held == false) {
                return;
            }
            logger.info("holding the write of [{}] to [{}] until index.newswire_test.hold_writes is false", id, index);
            long deadline = System.nanoTime() + MAX_HOLD_NANOS;
            while (held) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    logger.warn("released the write of [{}] to [{}] after 60 s: the hold was never lifted", id, index);
                    return;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            logger.info("released the write of [{}] to [{}]", id, index);
        }
    }
}
