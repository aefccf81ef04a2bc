import type { OperatorService } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTE_KEYS } from './search-attributes';

/** gRPC status code ALREADY_EXISTS. */
const ALREADY_EXISTS = 6;

/** Values of the `temporal.api.enums.v1.IndexedValueType` enum of the Temporal API. */
const INDEXED_VALUE_TYPES: Partial<Record<SearchAttributeType, number>> = { KEYWORD: 2, INT: 3 };

export interface RegisterResult {
  /** Attribute names this call added. */
  added: string[];
  /** Attribute names the namespace had already. */
  present: string[];
}

/**
 * Adds the custom search attributes of the import workflow to `namespace` through the operator
 * service. Attributes that exist already are left alone, so every worker start may call it. Throws
 * when an attribute exists with another type, since filters on it would then not work.
 */
export async function registerSearchAttributes(
  operatorService: OperatorService,
  namespace: string,
): Promise<RegisterResult> {
  const listed = await operatorService.listSearchAttributes({ namespace });
  const existing = { ...listed.systemAttributes, ...listed.customAttributes };
  const missing: Record<string, number> = {};
  const present: string[] = [];

  for (const key of SEARCH_ATTRIBUTE_KEYS) {
    const expected = INDEXED_VALUE_TYPES[key.type];
    if (expected === undefined) {
      throw new Error(`search attribute ${key.name}: unknown type ${key.type}`);
    }
    const found = existing[key.name];
    if (found === undefined) {
      missing[key.name] = expected;
    } else if (found !== expected) {
      throw new Error(
        `search attribute ${key.name} exists in namespace ${namespace} with another type ` +
          `(${found}, expected ${expected}); remove it or rename the attribute`,
      );
    } else {
      present.push(key.name);
    }
  }

  const added = Object.keys(missing);
  if (added.length === 0) return { added, present };
  try {
    await operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
  } catch (error) {
    // Two workers starting at once both see the attributes missing; the later add is refused.
    if ((error as { code?: number }).code !== ALREADY_EXISTS) throw error;
    return { added: [], present: [...present, ...added] };
  }
  return { added, present };
}
