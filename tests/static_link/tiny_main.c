/* The smallest program: what a static link against leakwatch must refuse. */
int main(void) { return 0; }
