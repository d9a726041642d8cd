/**
 * A raw English text written for the char-RNN tests (not taken from any data set): letters, spaces,
 * commas, full stops and newlines only, which both shared ml5 vocabularies hold.
 * @module
 */
export const RAW_TEXT = `The river ran low under the old bridge, and the town was quiet in the evening.
Men and women came out of the mills and the shops, and walked along the water.
They spoke of the long winter, of the price of bread, of the schools their children
would go to and of the work that waited for them in the morning.

A man stood by the gate and looked at the hills. He had come from the south many years
before, with nothing but a coat and a name, and he had made a life here.
He thought of his mother, who could not read, and of his son, who read every night.
The world was changing, he said to himself, and it would change more.

In the church the lamps were lit one by one. Somebody began to sing, and then another,
and the song went out over the dark fields and the houses and the road.
No one there was rich, and few were free of fear, but on that night they were together,
and for a while that seemed enough.
`;
