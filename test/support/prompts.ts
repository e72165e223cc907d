// Everyday prompts the offline composer must handle well; shared by its tests and its benchmark.
export const EXAMPLE_PROMPTS = [
  'A red apple with green leaves and stems',
  "A dog wearing a chef's hat",
  'a cat sitting on a sofa',
  'a car next to a house',
  'a bird in the sky above a tree',
  'a pizza',
  'a rocket',
  'a sunflower',
  'a hammer and a wrench',
  'a beach with a palm tree',
];
