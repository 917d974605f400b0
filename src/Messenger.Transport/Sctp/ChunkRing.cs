namespace Messenger.Transport.Sctp;

/// <summary>A growable FIFO with indexing, for chunks outstanding in TSN order.</summary>
internal sealed class ChunkRing<T>
    where T : class
{
    private T?[] _items = new T?[256];
    private int _head;

    public int Count { get; private set; }

    public T this[int index] => _items[(_head + index) & (_items.Length - 1)]!;

    public T Front => this[0];

    public void PushBack(T item)
    {
        if (Count == _items.Length)
        {
            var bigger = new T?[_items.Length * 2];
            for (var i = 0; i < Count; i++)
            {
                bigger[i] = this[i];
            }

            _items = bigger;
            _head = 0;
        }

        _items[(_head + Count) & (_items.Length - 1)] = item;
        Count++;
    }

    public T PopFront()
    {
        var item = _items[_head]!;
        _items[_head] = null;
        _head = (_head + 1) & (_items.Length - 1);
        Count--;
        return item;
    }

    public void Clear()
    {
        Array.Clear(_items);
        _head = 0;
        Count = 0;
    }
}
