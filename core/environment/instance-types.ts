/** Graviton families carry a `g` after the generation digit (m7g, t4g, c6gn). */
export const isGraviton = (instanceType: string): boolean =>
  /^[a-z]+\d+[a-z]*g[a-z]*\./.test(instanceType);
