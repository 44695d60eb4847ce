/**
 * Every item of every page an SDK paginator (`paginate*`) yields. AWS returns one page per call
 * (`NextToken`, `Marker`, `IsTruncated`); an account with more than a page of anything must
 * never look smaller than it is.
 */
export async function allItems<P, T>(
  pages: AsyncIterable<P>,
  items: (page: P) => T[] | undefined,
): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) all.push(...(items(page) ?? []));
  return all;
}
