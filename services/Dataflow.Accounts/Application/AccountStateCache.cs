using System.Diagnostics.CodeAnalysis;
using Dataflow.Accounts.Domain;

namespace Dataflow.Accounts.Application;

/// <summary>
/// The last known state of recently used accounts, so a command can be decided without loading the account and
/// appended in one round trip. Never trusted for correctness: appends are optimistic on (account, sequence number)
/// and the store refuses a transaction id already recorded on the account, so a stale entry (another instance
/// wrote since) surfaces as a conflict and the command falls back to load-decide-append. Bounded: the least
/// recently used entry is dropped first; a newer version of an account always replaces an older one, never the reverse.
/// </summary>
public sealed class AccountStateCache
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, LinkedListNode<AccountState>> _entries;
    private readonly LinkedList<AccountState> _recency = new();

    public AccountStateCache(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _entries = new Dictionary<Guid, LinkedListNode<AccountState>>(capacity);
    }

    public int Capacity { get; }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    public bool TryGet(Guid accountId, [MaybeNullWhen(false)] out AccountState state)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(accountId, out var node))
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                state = node.Value;
                return true;
            }
        }

        state = null;
        return false;
    }

    /// <summary>Keeps <paramref name="state"/> unless a newer version of the account is already cached; ignores accounts that do not exist.</summary>
    public void Remember(AccountState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!state.Exists)
        {
            return;
        }

        lock (_gate)
        {
            if (_entries.TryGetValue(state.AccountId, out var node))
            {
                if (node.Value.Version < state.Version)
                {
                    node.Value = state;
                }

                _recency.Remove(node);
                _recency.AddFirst(node);
                return;
            }

            if (_entries.Count >= Capacity && _recency.Last is { } oldest)
            {
                _recency.RemoveLast();
                _entries.Remove(oldest.Value.AccountId);
            }

            _entries[state.AccountId] = _recency.AddFirst(state);
        }
    }

    public void Forget(Guid accountId)
    {
        lock (_gate)
        {
            if (_entries.Remove(accountId, out var node))
            {
                _recency.Remove(node);
            }
        }
    }
}
