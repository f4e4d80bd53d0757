package dynamostore

import (
	"context"
	"math"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Meter is a Client that adds up the capacity units its calls would consume in
// DynamoDB, computed from the items' sizes as DynamoDB bills them: a strongly consistent
// read costs one read unit per 4 KB (half that when eventually consistent, and a missing
// item still costs the minimum), a write one write unit per 1 KB of the larger of the
// item before and after (a failed condition too), a transaction twice that per item, a
// query its items' total size per 4 KB; each write also pays for the index entries it
// puts, moves or deletes (listIndexes: one unit an entry written, two for a moved key).
// Emulators report no consumed capacity, so the
// meter reads the items it needs to size through the wrapped client, uncounted. It is
// for tests and benchmarks; never for production.
type Meter struct {
	Client
	table string

	mu            sync.Mutex
	reads, writes float64
}

// NewMeter wraps db, whose table is table.
func NewMeter(db Client, table string) *Meter { return &Meter{Client: db, table: table} }

// Units returns the read and write units counted so far.
func (m *Meter) Units() (reads, writes float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reads, m.writes
}

// Reset sets both counts back to zero.
func (m *Meter) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads, m.writes = 0, 0
}

// Add adds to the counts (a negative amount takes out what should not count).
func (m *Meter) Add(r, w float64) {
	m.mu.Lock()
	m.reads += r
	m.writes += w
	m.mu.Unlock()
}

func readUnits(size int, consistent bool) float64 {
	u := math.Max(1, math.Ceil(float64(size)/4096))
	if !consistent {
		u /= 2
	}
	return u
}

func writeUnits(before, after int) float64 {
	return math.Max(1, math.Ceil(float64(max(before, after))/1024))
}

// sizeOf is the size of an item as DynamoDB counts it: attribute names plus values.
func sizeOf(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return len(v.Value)/2 + 1
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		return 3 + sizeOf(v.Value) + len(v.Value)
	}
	return 0
}

// current is the item at key now (nil if absent), read without counting.
func (m *Meter) current(ctx context.Context, table *string, key map[string]types.AttributeValue) map[string]types.AttributeValue {
	res, err := m.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil
	}
	return res.Item
}

// written is the write units of changing an item from before to after (nil: absent):
// the item itself and the index entries the change writes.
func written(before, after map[string]types.AttributeValue) float64 {
	return writeUnits(sizeOf(before), sizeOf(after)) + indexUnits(before, after)
}

// indexUnits are the writes a change makes in the list's indexes: an entry that appears
// or goes costs one, a key that moves two (delete and put), a projected attribute that
// changes one.
func indexUnits(before, after map[string]types.AttributeValue) float64 {
	u := 0.0
	for _, ix := range listIndexes {
		inB := before[ix.pk] != nil && before[ix.sk] != nil
		inA := after[ix.pk] != nil && after[ix.sk] != nil
		switch {
		case !inB && !inA:
		case inB != inA:
			u++
		case !sameValue(before[ix.pk], after[ix.pk]) || !sameValue(before[ix.sk], after[ix.sk]):
			u += 2
		default:
			for _, a := range ix.include {
				if !sameValue(before[a], after[a]) {
					u++
					break
				}
			}
		}
	}
	return u
}

func sameValue(a, b types.AttributeValue) bool {
	sa, okA := a.(*types.AttributeValueMemberS)
	sb, okB := b.(*types.AttributeValueMemberS)
	if okA || okB {
		return okA && okB && sa.Value == sb.Value
	}
	return a == nil && b == nil || a != nil && b != nil && valueSize(a) == valueSize(b)
}

func (m *Meter) keyOf(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: item[attrPK], attrSK: item[attrSK]}
}

func (m *Meter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	out, err := m.Client.GetItem(ctx, in, opts...)
	if err == nil {
		m.Add(readUnits(sizeOf(out.Item), aws.ToBool(in.ConsistentRead)), 0)
	}
	return out, err
}

func (m *Meter) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	before := m.current(ctx, in.TableName, m.keyOf(in.Item))
	out, err := m.Client.PutItem(ctx, in, opts...)
	after := in.Item
	if err != nil {
		after = before
	}
	m.Add(0, written(before, after))
	return out, err
}

func (m *Meter) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	before := m.current(ctx, in.TableName, in.Key)
	out, err := m.Client.UpdateItem(ctx, in, opts...)
	m.Add(0, written(before, m.current(ctx, in.TableName, in.Key)))
	return out, err
}

func (m *Meter) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	before := m.current(ctx, in.TableName, in.Key)
	out, err := m.Client.DeleteItem(ctx, in, opts...)
	after := map[string]types.AttributeValue(nil)
	if err != nil {
		after = before
	}
	m.Add(0, written(before, after))
	return out, err
}

func (m *Meter) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := m.Client.Query(ctx, in, opts...)
	if err == nil {
		size := 0
		for _, it := range out.Items {
			size += sizeOf(it)
		}
		m.Add(readUnits(size, aws.ToBool(in.ConsistentRead)), 0)
	}
	return out, err
}

func (m *Meter) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	type change struct {
		table  *string
		key    map[string]types.AttributeValue
		before map[string]types.AttributeValue
	}
	var changes []change
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			changes = append(changes, change{it.Put.TableName, m.keyOf(it.Put.Item), nil})
		case it.Delete != nil:
			changes = append(changes, change{it.Delete.TableName, it.Delete.Key, nil})
		case it.Update != nil:
			changes = append(changes, change{it.Update.TableName, it.Update.Key, nil})
		case it.ConditionCheck != nil:
			changes = append(changes, change{it.ConditionCheck.TableName, it.ConditionCheck.Key, nil})
		}
	}
	for i := range changes {
		changes[i].before = m.current(ctx, changes[i].table, changes[i].key)
	}
	out, err := m.Client.TransactWriteItems(ctx, in, opts...)
	w := 0.0
	for _, c := range changes {
		after := c.before
		if err == nil {
			after = m.current(ctx, c.table, c.key)
		}
		// A transaction writes twice per item; the index entries once.
		w += 2*writeUnits(sizeOf(c.before), sizeOf(after)) + indexUnits(c.before, after)
	}
	m.Add(0, w)
	return out, err
}

// ItemSize is the size of an item as DynamoDB counts it for capacity and storage
// (attribute names plus values, without the 100 bytes of overhead storage adds).
func ItemSize(item map[string]types.AttributeValue) int { return sizeOf(item) }

// IndexEntriesSize is what item adds to the list's indexes, as DynamoDB counts an
// index entry: the table's keys, the index's keys and its projected attributes, for
// each index item has the keys of (without the 100 bytes of overhead an entry adds).
func IndexEntriesSize(item map[string]types.AttributeValue) (size, entries int) {
	for _, ix := range listIndexes {
		if item[ix.pk] == nil || item[ix.sk] == nil {
			continue
		}
		entry := map[string]types.AttributeValue{}
		for _, a := range append([]string{attrPK, attrSK, ix.pk, ix.sk}, ix.include...) {
			if v, ok := item[a]; ok {
				entry[a] = v
			}
		}
		size, entries = size+sizeOf(entry), entries+1
	}
	return size, entries
}
